package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.ResiliencyPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CheckpointScheduleTest {
  @Test
  void dalysIntervalForAKnownCostAndMtbf() {
    // C = 10 s, M = 1 h: sqrt(2*10*3600) = 268.328 s; r = 10/7200; factor 1 + sqrt(r)/3 + r/9 = 1.0125773...
    double expected = Math.sqrt(72000) * (1 + Math.sqrt(10.0 / 7200) / 3 + (10.0 / 7200) / 9) - 10;
    assertEquals(261.7033, expected, 1e-3); // the formula, evaluated by hand
    assertEquals(expected, CheckpointSchedule.daly(Duration.ofSeconds(10), Duration.ofHours(1)).toNanos() / 1e9, 1e-6);
    // A cost at least twice the MTBF: checkpointing cannot win, the interval is the MTBF.
    assertEquals(Duration.ofMinutes(1), CheckpointSchedule.daly(Duration.ofMinutes(3), Duration.ofMinutes(1)));
  }

  @Test
  void theIntervalFollowsTheMeasuredCost() {
    CheckpointSchedule s = new CheckpointSchedule(ResiliencyPolicy.builder()
        .meanTimeBetweenFailures(Duration.ofHours(1)).build());
    assertEquals(Optional.empty(), s.interval(), "no cost measured yet: capture first");
    Instant t0 = Instant.parse("2026-11-22T00:00:00Z");
    assertEquals(t0, s.nextAfter(Instant.EPOCH, t0));
    s.measured(Duration.ofSeconds(10));
    Duration first = s.interval().orElseThrow();
    assertEquals(CheckpointSchedule.daly(Duration.ofSeconds(10), Duration.ofHours(1)), first);
    assertEquals(t0.plus(first), s.nextAfter(t0, t0.plusSeconds(1)));
    s.measured(Duration.ofSeconds(30)); // estimate becomes 20 s
    Duration second = s.interval().orElseThrow();
    assertEquals(CheckpointSchedule.daly(Duration.ofSeconds(20), Duration.ofHours(1)), second);
    assertNotEquals(first, second);
    assertTrue(second.compareTo(first) > 0, "a costlier capture is taken less often");
  }

  @Test
  void aFixedIntervalIgnoresTheCost() {
    CheckpointSchedule s = new CheckpointSchedule(ResiliencyPolicy.builder()
        .checkpointInterval(Duration.ofMinutes(5)).build());
    s.measured(Duration.ofSeconds(40));
    assertEquals(Optional.of(Duration.ofMinutes(5)), s.interval());
    assertTrue(new CheckpointSchedule(ResiliencyPolicy.defaults()).interval().isEmpty());
  }
}
