package io.lencap.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.lencap.api.InvalidSpecException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/** Typed values of a spec's tree, each failing with the field's path. */
final class SpecValues {
  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h|d)");

  private SpecValues() {}

  /** Runs a builder call, moving its error onto the file's path for the field. */
  static <T> T at(String path, Supplier<T> call) {
    try {
      return call.get();
    } catch (InvalidSpecException e) {
      throw new InvalidSpecException(path, problem(e));
    }
  }

  static void at(String path, Runnable call) {
    at(path, () -> {
      call.run();
      return null;
    });
  }

  /** The problem of an {@link InvalidSpecException} without the builder's field name in front. */
  static String problem(InvalidSpecException e) {
    String message = String.valueOf(e.getMessage());
    String prefix = e.field() + ": ";
    return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
  }

  static String kind(JsonNode node) {
    return node.isObject() ? "a mapping" : node.isArray() ? "a list" : node.isNull() ? "empty" : "a "
        + node.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  /** A required scalar, as text (numbers and booleans too: {@code domain: 42} means "42"). */
  static String text(String path, @Nullable JsonNode node) {
    if (node == null || node.isNull()) {
      throw new InvalidSpecException(path, "is required");
    }
    if (!node.isValueNode()) {
      throw new InvalidSpecException(path, "must be a single value, was " + kind(node));
    }
    return node.asText();
  }

  /** A mapping of names to values, in file order; absent is empty. */
  static Map<String, JsonNode> entries(String path, @Nullable JsonNode node) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isObject()) {
      throw new InvalidSpecException(path, "must be a mapping of names to values, was " + kind(node));
    }
    node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  /** A list of scalars, or one scalar; absent is empty. */
  static List<String> texts(String path, @Nullable JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (node.isValueNode()) {
      out.add(node.asText());
      return out;
    }
    if (!node.isArray()) {
      throw new InvalidSpecException(path, "must be a list of member ids, was " + kind(node));
    }
    for (int i = 0; i < node.size(); i++) {
      out.add(text(path + "[" + i + "]", node.get(i)));
    }
    return out;
  }

  static int integer(String path, JsonNode node) {
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      throw new InvalidSpecException(path, "must be a whole number, was " + (node.isValueNode() ? "'"
          + node.asText() + "'" : kind(node)));
    }
    return node.intValue();
  }

  /** {@code 500ms}, {@code 2s}, {@code 10m}, {@code 1h}, {@code 1d}, or ISO-8601 ({@code PT2S}). */
  static Duration duration(String path, JsonNode node) {
    String text = text(path, node).trim();
    Matcher m = SHORT_DURATION.matcher(text);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    try {
      return Duration.parse(text);
    } catch (DateTimeParseException e) {
      throw new InvalidSpecException(path, "'" + text + "' is not a duration; write 500ms, 2s, 10m, 1h, 1d or "
          + "ISO-8601 such as PT2S");
    }
  }

  /** An enum by name, case-insensitive, '-' for '_' ({@code non-blocking}, {@code NON_BLOCKING}). */
  static <E extends Enum<E>> E choice(String path, JsonNode node, Class<E> type) {
    String text = text(path, node);
    String wanted = text.trim().replace('-', '_').toUpperCase(Locale.ROOT);
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(wanted)) {
        return e;
      }
    }
    throw new InvalidSpecException(path, "'" + text + "' is not one of " + Arrays.stream(type.getEnumConstants())
        .map(e -> e.name().toLowerCase(Locale.ROOT).replace('_', '-')).collect(Collectors.joining(", ")));
  }
}
