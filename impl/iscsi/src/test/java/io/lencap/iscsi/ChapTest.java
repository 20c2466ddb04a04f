package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ChapTest {

  @Test
  void answersWithMd5OfIdSecretAndChallenge() throws Exception {
    byte[] challenge = HexFormat.of().parseHex("0123456789abcdef");
    MessageDigest md5 = MessageDigest.getInstance("MD5");
    md5.update((byte) 17);
    md5.update("s3cret".getBytes());
    md5.update(challenge);
    String expected = "0x" + HexFormat.of().formatHex(md5.digest());
    assertEquals(expected, Chap.of("alice", "s3cret").response("17", "0x0123456789abcdef"));
    assertEquals(expected, Chap.of("alice", "s3cret").response("17", "0b" +
      java.util.Base64.getEncoder().encodeToString(challenge)));
  }

  @Test
  void textParametersRoundTrip() {
    var map = new java.util.LinkedHashMap<String, String>();
    map.put("CHAP_A", "5");
    map.put("TargetName", "iqn.x:y");
    assertEquals(map, TextParameters.decode(TextParameters.encode(map)));
  }
}
