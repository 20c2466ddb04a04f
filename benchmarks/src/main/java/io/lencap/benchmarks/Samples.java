package io.lencap.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Figures the benchmarks gather round after round, by name, and print as min / median / max. */
final class Samples {
  private Samples() {}

  static void add(Map<String, List<Double>> samples, String name, double value) {
    samples.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
  }

  /** The middle value, or the mean of the two middle ones. */
  static double median(List<Double> values) {
    List<Double> s = values.stream().sorted().toList();
    return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }

  /** Min, median and max, each in {@code format}, separated by spaces. */
  static String spread(List<Double> values, String format) {
    List<Double> s = values.stream().sorted().toList();
    return String.format(format + " " + format + " " + format, s.get(0), median(values), s.get(s.size() - 1));
  }
}
