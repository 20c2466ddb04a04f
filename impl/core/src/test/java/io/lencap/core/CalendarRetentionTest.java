package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan.Decision;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The retention rules against a reference written from their definition ("the newest checkpoint of each of
 * the newest N periods that have one", periods as calendar strings grouped and sorted), over generated
 * two-year histories in UTC and in a zone with daylight saving.
 */
class CalendarRetentionTest {
  static final Instant START = Instant.parse("2025-01-01T00:00:00Z");

  /** Checkpoints from 20 minutes to 12 days apart, over two years (bursts and quiet weeks). */
  static List<CalendarRetention.Point> history(long seed, int count) {
    Random random = new Random(seed);
    long[] gaps = {20 * 60, 50 * 60, 7 * 3600, 24 * 3600, 4 * 86400, 12 * 86400};
    List<CalendarRetention.Point> out = new ArrayList<>();
    Instant t = START;
    Instant end = START.plus(Duration.ofDays(730));
    for (int i = 0; i < count && t.isBefore(end); i++) {
      out.add(new CalendarRetention.Point(String.format("cp%05d", i), t));
      t = t.plusSeconds(gaps[random.nextInt(gaps.length)] + random.nextInt(600));
    }
    return out;
  }

  /** The rule as documented: group by period, the N newest periods, the newest checkpoint of each. */
  static Set<String> reference(List<CalendarRetention.Point> points, Retention r) {
    ZoneId zone = r.zone();
    Comparator<CalendarRetention.Point> byTime =
        Comparator.comparing(CalendarRetention.Point::time).thenComparing(CalendarRetention.Point::id);
    Set<String> keep = new HashSet<>();
    points.stream().sorted(byTime.reversed()).limit(r.keepLast()).forEach(p -> keep.add(p.id()));
    Map<Function<ZonedDateTime, String>, Integer> rules = Map.of(
        t -> String.format("%04d-%02d-%02d %02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth(), t.getHour()),
        r.keepHourly(),
        t -> t.toLocalDate().toString(), r.keepDaily(),
        t -> String.format("%04d-%02d", t.get(IsoFields.WEEK_BASED_YEAR), t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)),
        r.keepWeekly(),
        t -> String.format("%04d-%02d", t.getYear(), t.getMonthValue()), r.keepMonthly(),
        t -> String.format("%04d", t.getYear()), r.keepYearly());
    rules.forEach((period, n) -> {
      TreeMap<String, List<CalendarRetention.Point>> byPeriod = points.stream().collect(
          Collectors.groupingBy(p -> period.apply(p.time().atZone(zone)), TreeMap::new, Collectors.toList()));
      byPeriod.descendingMap().values().stream().limit(n)
          .forEach(ps -> keep.add(ps.stream().max(byTime).orElseThrow().id()));
    });
    return keep;
  }

  static Set<String> kept(List<Decision> decisions) {
    return decisions.stream().filter(Decision::kept).map(Decision::checkpointId).collect(Collectors.toSet());
  }

  static final List<Retention> POLICIES = List.of(
      Retention.builder().keepLast(3).build(),
      Retention.builder().keepDaily(7).build(),
      Retention.builder().keepLast(2).keepHourly(6).keepDaily(7).keepWeekly(4).keepMonthly(12).keepYearly(5).build(),
      Retention.builder().keepHourly(48).keepWeekly(60).zone(ZoneId.of("Europe/Berlin")).build(),
      Retention.builder().keepDaily(400).keepMonthly(30).zone(ZoneId.of("America/New_York")).build(),
      Retention.builder().keepWeekly(3).keepYearly(1).zone(ZoneOffset.ofHours(13)).build());

  @Test
  void twoYearsOfCheckpointsKeepWhatTheRuleSays() {
    for (long seed = 1; seed <= 5; seed++) {
      List<CalendarRetention.Point> points = history(seed, 100_000);
      assertTrue(points.size() > 200, "history of " + points.size());
      for (Retention r : POLICIES) {
        List<Decision> decisions = CalendarRetention.decide(points, r, Set.of(), Set.of());
        assertEquals(reference(points, r), kept(decisions), "seed " + seed + ", " + r);
        assertEquals(points.stream().map(CalendarRetention.Point::id).toList(),
            decisions.stream().map(Decision::checkpointId).toList(), "decisions oldest first");
      }
    }
  }

  @Test
  void protectedAndReadCheckpointsStayWhateverTheRules() {
    List<CalendarRetention.Point> points = history(7, 100_000);
    Set<String> isProtected = Set.of(points.get(0).id(), points.get(points.size() / 2).id());
    Set<String> read = Set.of(points.get(1).id());
    List<Decision> decisions =
        CalendarRetention.decide(points, Retention.builder().keepLast(1).build(), isProtected, read);
    Set<String> expected = new HashSet<>(isProtected);
    expected.addAll(read);
    expected.add(points.get(points.size() - 1).id());
    assertEquals(expected, kept(decisions));
    Decision first = decisions.get(0);
    assertEquals(List.of("protected"), first.reasons());
    assertEquals(List.of("read by a restore or sync"), decisions.get(1).reasons());
    assertEquals(List.of("no rule keeps it"), decisions.get(2).reasons());
  }

  @Test
  void noRuleKeepsEverything() {
    List<CalendarRetention.Point> points = history(3, 50);
    assertEquals(points.size(), kept(CalendarRetention.decide(points, Retention.keepAll(), Set.of(), Set.of())).size());
  }

  /** At the end of daylight saving in Berlin 02:00-03:00 happens twice: one hour, one period. */
  @Test
  void anHourThatHappensTwiceIsOnePeriod() {
    Instant firstTwoThirty = ZonedDateTime.parse("2026-10-25T02:30+02:00[Europe/Berlin]").toInstant();
    List<CalendarRetention.Point> points = List.of(
        new CalendarRetention.Point("a", firstTwoThirty.minus(Duration.ofHours(1))), // 01:30
        new CalendarRetention.Point("b", firstTwoThirty), // 02:30 summer time
        new CalendarRetention.Point("c", firstTwoThirty.plus(Duration.ofHours(1)))); // 02:30 winter time
    Retention hourly = Retention.builder().keepHourly(2).zone(ZoneId.of("Europe/Berlin")).build();
    List<Decision> decisions = CalendarRetention.decide(points, hourly, Set.of(), Set.of());
    assertEquals(Set.of("a", "c"), kept(decisions));
    assertEquals(List.of("hourly 2026-10-25T02"), decisions.get(2).reasons());
    // In UTC they are three hours.
    assertEquals(Set.of("b", "c"), kept(CalendarRetention.decide(points,
        Retention.builder().keepHourly(2).build(), Set.of(), Set.of())));
  }
}
