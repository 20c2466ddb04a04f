package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan.Decision;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The example table of docs/RETENTION.md, decision by decision: the documentation cannot drift. */
class RetentionExampleTest {
  @Test
  void theDocumentedExample() {
    List<String> times = List.of("2026-10-28T09:00:00Z", "2026-11-04T09:00:00Z", "2026-11-16T09:00:00Z",
        "2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z", "2026-11-24T21:00:00Z", "2026-11-25T09:00:00Z",
        "2026-11-25T21:00:00Z");
    List<CalendarRetention.Point> points = IntStream.range(0, times.size())
        .mapToObj(i -> new CalendarRetention.Point("cp" + (i + 1), Instant.parse(times.get(i)))).toList();
    Retention retention = Retention.builder().keepLast(2).keepDaily(3).keepWeekly(2).keepMonthly(2).build();

    List<Decision> decisions = CalendarRetention.decide(points, retention, Set.of(), Set.of());

    List<List<String>> reasons = List.of(
        List.of("monthly 2026-10"),
        List.of("no rule keeps it"),
        List.of("weekly 2026-W47"),
        List.of("daily 2026-11-23"),
        List.of("no rule keeps it"),
        List.of("daily 2026-11-24"),
        List.of("last 2"),
        List.of("last 1", "daily 2026-11-25", "weekly 2026-W48", "monthly 2026-11"));
    assertEquals(reasons, decisions.stream().map(Decision::reasons).toList());
    assertEquals(List.of(true, false, true, true, false, true, true, true),
        decisions.stream().map(Decision::kept).toList());
  }
}
