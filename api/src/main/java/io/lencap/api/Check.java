package io.lencap.api;

import java.time.Duration;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** Builder validation that names the offending field. */
final class Check {
  /** Ids and names end up in store paths and logs: keep them to a safe alphabet. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

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
    if (!NAME.matcher(value).matches()) {
      throw new InvalidSpecException(field, "'" + value
          + "' must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit");
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
