package io.lencap.api.spi;

import java.util.regex.Pattern;

/**
 * The alphabet of every name and id Lencap puts into a store key or a log: encapsulation and member names as
 * builders check them, and checkpoint ids as the engine makes them. The engine checks ids it is given against it
 * too, so that no id, from a caller or read off a target, ever reaches a key as a path.
 */
public final class Names {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /** What a valid name is, for error messages. */
  public static final String RULE = "1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";

  private Names() {}

  /** Whether {@code value} is a valid name or id. */
  public static boolean valid(String value) {
    return NAME.matcher(value).matches();
  }
}
