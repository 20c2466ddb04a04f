package io.lencap.api;

import io.lencap.api.spi.Names;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** Builder validation that names the offending field. */
final class Check {
  private Check() {}

  static <T> T present(String field, @Nullable T value) {
    if (value == null) {
      throw new InvalidSpecException(field, "is required");
    }
    return value;
  }

  static void unset(String field, @Nullable Object current) {
    if (current != null) {
      throw new InvalidSpecException(field, "was already set to " + current);
    }
  }

  static String name(String field, String value) {
    present(field, value);
    if (!Names.valid(value)) { // names end up in store keys and logs
      throw new InvalidSpecException(field, "'" + value + "' must be " + Names.RULE);
    }
    return value;
  }

  static Duration positive(String field, Duration value) {
    present(field, value);
    if (value.isNegative() || value.isZero()) {
      throw new InvalidSpecException(field, "must be positive, was " + value);
    }
    return value;
  }
}
