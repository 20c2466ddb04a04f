package io.lencap.iscsi;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One CHAP credential, a name and its secret (RFC 1994 with MD5, as RFC 7143 section 12.1.3 uses it): the
 * initiator's, or the target's for mutual CHAP. The secret stays in this object; its {@link #toString()} shows only
 * the name. {@link ChapLogin} runs the exchange.
 */
final class Chap {

  private final String name;
  private final byte[] secret;

  Chap(String name, byte[] secret) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("CHAP user name is missing");
    }
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException("CHAP secret is missing");
    }
    this.name = name;
    this.secret = secret.clone();
  }

  static Chap of(String name, String secret) {
    return new Chap(name, secret == null ? null : secret.getBytes(StandardCharsets.UTF_8));
  }

  String name() {
    return name;
  }

  /** CHAP_R for the target's CHAP_I and CHAP_C (hex with 0x prefix, as in the login text). */
  String response(String chapI, String chapC) {
    int id;
    byte[] challenge;
    try {
      id = Integer.decode(chapI.strip());
      challenge = decodeBinary(chapC.strip());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("target sent a malformed CHAP challenge");
    }
    return "0x" + HexFormat.of().formatHex(digest(id, challenge));
  }

  /** Whether {@code chapR} (a login text value) is the answer to {@code id} and {@code challenge} under this secret. */
  boolean isResponse(int id, byte[] challenge, String chapR) {
    byte[] received;
    try {
      received = decodeBinary(chapR.strip());
    } catch (RuntimeException e) {
      return false;
    }
    return MessageDigest.isEqual(digest(id, challenge), received);
  }

  /** Whether both credentials use the same secret (RFC 7143 forbids one secret for both directions). */
  boolean sharesSecretWith(Chap other) {
    return MessageDigest.isEqual(secret, other.secret);
  }

  private byte[] digest(int id, byte[] challenge) {
    try {
      MessageDigest md5 = MessageDigest.getInstance("MD5");
      md5.update((byte) id);
      md5.update(secret);
      md5.update(challenge);
      return md5.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("MD5 is missing from this JDK", e);
    }
  }

  /** A binary login value: {@code 0x} hex or {@code 0b} base64 (RFC 7143 section 6.1). */
  static byte[] decodeBinary(String value) {
    if (value.startsWith("0x") || value.startsWith("0X")) {
      return HexFormat.of().parseHex(value.substring(2));
    }
    if (value.startsWith("0b") || value.startsWith("0B")) {
      return java.util.Base64.getDecoder().decode(value.substring(2));
    }
    throw new IllegalArgumentException("not a binary value");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Chap c && c.name.equals(name) && MessageDigest.isEqual(c.secret, secret);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(secret);
  }

  @Override
  public String toString() {
    return "Chap[name=" + name + ", secret=****]";
  }
}
