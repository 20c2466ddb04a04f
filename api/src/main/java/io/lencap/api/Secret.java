package io.lencap.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A credential (CHAP secret, SASL password, key material). Its {@code toString} never shows the value, so
 * it is safe in logs and exception messages; only a provider calls {@link #reveal()}.
 */
public final class Secret {
  private final byte[] value;

  private Secret(byte[] value) {
    this.value = value;
  }

  public static Secret of(String value) {
    if (value == null || value.isEmpty()) {
      throw new InvalidSpecException("secret", "must not be empty");
    }
    return new Secret(value.getBytes(StandardCharsets.UTF_8));
  }

  /** The secret's value, for the provider that hands it to its peer. Never log it. */
  public String reveal() {
    return new String(value, StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Secret s && MessageDigest.isEqual(value, s.value);
  }

  @Override
  public int hashCode() {
    return value.length;
  }

  @Override
  public String toString() {
    return "****";
  }
}
