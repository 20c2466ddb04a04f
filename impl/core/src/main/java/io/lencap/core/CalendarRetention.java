package io.lencap.core;

import com.google.common.collect.Lists;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan.Decision;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.time.temporal.IsoFields;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The retention rules as restic's {@code forget} applies them: the checkpoints newest first, each rule walks
 * them once and keeps one whenever it enters a period it has not seen, until it has kept its count. Rules
 * are independent; a checkpoint any rule (or protection, or a restore) keeps stays. Pure: the store's I/O
 * is in {@link CheckpointRetention}.
 */
final class CalendarRetention {
  /** A checkpoint as retention sees it. */
  record Point(String id, Instant time) {}

  private record Rule(String name, int count, Function<LocalDateTime, LocalDateTime> periodStart,
      Function<LocalDateTime, String> label) {}

  private CalendarRetention() {}

  /**
   * Every point's decision, oldest first.
   *
   * @param isProtected ids marked protected
   * @param read ids a restore or sync in flight reads
   */
  static List<Decision> decide(List<Point> points, Retention retention, Set<String> isProtected,
      Set<String> read) {
    List<Point> newestFirst = new ArrayList<>(points);
    newestFirst.sort(Comparator.comparing(Point::time).thenComparing(Point::id).reversed());
    Map<String, List<String>> reasons = new LinkedHashMap<>();
    newestFirst.forEach(p -> reasons.put(p.id(), new ArrayList<>()));
    if (retention.keepsAll()) {
      newestFirst.forEach(p -> reasons.get(p.id()).add("no rule set: all kept"));
    }
    for (int i = 0; i < Math.min(retention.keepLast(), newestFirst.size()); i++) {
      reasons.get(newestFirst.get(i).id()).add("last " + (i + 1));
    }
    for (Rule rule : rules(retention)) {
      apply(rule, newestFirst, retention.zone(), reasons);
    }
    List<Decision> out = new ArrayList<>();
    for (Point p : Lists.reverse(newestFirst)) {
      List<String> why = reasons.get(p.id());
      if (isProtected.contains(p.id())) {
        why.add("protected");
      }
      if (read.contains(p.id())) {
        why.add("read by a restore or sync");
      }
      boolean kept = !why.isEmpty();
      out.add(new Decision(p.id(), p.time(), kept, kept ? why : List.of("no rule keeps it")));
    }
    return out;
  }

  private static List<Rule> rules(Retention r) {
    return List.of(
        new Rule("hourly", r.keepHourly(), t -> t.truncatedTo(ChronoUnit.HOURS),
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH")::format),
        new Rule("daily", r.keepDaily(), t -> t.truncatedTo(ChronoUnit.DAYS), DateTimeFormatter.ISO_LOCAL_DATE::format),
        new Rule("weekly", r.keepWeekly(),
            t -> t.truncatedTo(ChronoUnit.DAYS).with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)),
            // the ISO week-based year and week, as restic labels weeks
            t -> String.format(Locale.ROOT, "%d-W%02d", t.get(IsoFields.WEEK_BASED_YEAR),
                t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR))),
        new Rule("monthly", r.keepMonthly(), t -> t.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1),
            DateTimeFormatter.ofPattern("uuuu-MM")::format),
        new Rule("yearly", r.keepYearly(), t -> t.truncatedTo(ChronoUnit.DAYS).withDayOfYear(1),
            DateTimeFormatter.ofPattern("uuuu")::format));
  }

  private static void apply(Rule rule, List<Point> newestFirst, ZoneId zone, Map<String, List<String>> reasons) {
    LocalDateTime last = null;
    int kept = 0;
    for (Point p : newestFirst) {
      if (kept >= rule.count()) {
        return;
      }
      LocalDateTime period = rule.periodStart().apply(LocalDateTime.ofInstant(p.time(), zone));
      if (!period.equals(last)) {
        last = period;
        kept++;
        reasons.get(p.id()).add(rule.name() + " " + rule.label().apply(period));
      }
    }
  }
}
