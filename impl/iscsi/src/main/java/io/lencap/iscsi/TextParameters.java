package io.lencap.iscsi;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * iSCSI login text: {@code key=value} pairs each ended by a NUL byte (RFC 7143 section 6). Written here rather
 * than through jSCSI's SettingsMap, which knows only its own key enum and has no CHAP keys.
 */
final class TextParameters {

  private TextParameters() {
  }

  static byte[] encode(Map<String, String> parameters) {
    StringBuilder text = new StringBuilder();
    parameters.forEach((key, value) -> text.append(key).append('=').append(value).append('\0'));
    return text.toString().getBytes(StandardCharsets.UTF_8);
  }

  static Map<String, String> decode(byte[] data) {
    Map<String, String> parameters = new LinkedHashMap<>();
    for (String pair : new String(data, StandardCharsets.UTF_8).split("\0")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        parameters.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
    }
    return parameters;
  }
}
