package io.lencap.core;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.spi.EngineSettings;
import java.nio.file.Path;
import java.time.Duration;

/** The engine's settings read from the store options: durations and the work directory, checked naming the key. */
final class EngineOptions {
  private EngineOptions() {}

  /** The store option {@code key} as an ISO-8601 duration, or {@code otherwise} when it is not set. */
  static Duration duration(EngineSettings settings, String key, Duration otherwise) {
    String value = settings.storeOptions().get(key);
    if (value == null) {
      return otherwise;
    }
    try {
      Duration d = Duration.parse(value);
      if (d.isNegative()) {
        throw new InvalidSpecException("storeOptions." + key, "must not be negative, was " + value);
      }
      return d;
    } catch (java.time.format.DateTimeParseException e) {
      throw new InvalidSpecException("storeOptions." + key, "must be an ISO-8601 duration such as PT30S, was "
          + value);
    }
  }

  /** The store option {@code key} as {@code true} or {@code false}, or {@code otherwise} when it is not set. */
  static boolean flag(EngineSettings settings, String key, boolean otherwise) {
    String value = settings.storeOptions().get(key);
    if (value == null) {
      return otherwise;
    }
    if (!value.equals("true") && !value.equals("false")) {
      throw new InvalidSpecException("storeOptions." + key, "must be true or false, was " + value);
    }
    return Boolean.parseBoolean(value);
  }

  /** Where cut artefacts and restore staging go: the {@code workDirectory} option, else beside a local store. */
  static Path workDirectory(EngineSettings settings) {
    String configured = settings.storeOptions().get("workDirectory");
    if (configured != null) {
      return Path.of(configured);
    }
    if ("file".equals(settings.store().getScheme())) {
      return Path.of(settings.store()).resolve("work");
    }
    String tag = Integer.toHexString(settings.store().toString().hashCode());
    return Path.of(System.getProperty("java.io.tmpdir"), "lencap-work-" + tag);
  }
}
