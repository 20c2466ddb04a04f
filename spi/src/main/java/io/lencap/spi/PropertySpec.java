package io.lencap.spi;

import java.util.Objects;

/**
 * One property or secret a provider reads from a {@link io.lencap.api.Resource}: what a user may set on a
 * member of that kind. Providers declare them ({@link ResourceProvider#properties}) so that the
 * documentation is generated from the code and checked against it.
 *
 * @param name the key, as in {@code Resource.builder(...).property(name, value)}
 * @param secret whether it is read from the resource's secrets rather than its properties
 * @param defaultValue what applies when it is absent, in words or as a value; empty when it is required
 *     or simply off
 * @param meaning one sentence: what it does
 */
public record PropertySpec(String name, boolean secret, String defaultValue, String meaning) {
  public PropertySpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(defaultValue, "defaultValue");
    Objects.requireNonNull(meaning, "meaning");
  }

  /** A property with its default. */
  public static PropertySpec property(String name, String defaultValue, String meaning) {
    return new PropertySpec(name, false, defaultValue, meaning);
  }

  /** A secret (never logged, never stored). */
  public static PropertySpec secret(String name, String meaning) {
    return new PropertySpec(name, true, "", meaning);
  }
}
