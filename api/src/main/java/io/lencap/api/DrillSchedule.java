package io.lencap.api;

import java.time.Duration;
import java.util.Optional;

/**
 * When a protection ({@link Lencap#protect}) drills its group ({@link Lencap#drill}): after every {@code n}th
 * committed capture, or after the first capture committed once {@code every} has passed since the last drill
 * started. The drill restores the checkpoint just committed into the plan's sandbox; its report is published as a
 * {@link LencapEvent.Drilled} (and counted by the Micrometer binder). Set it with
 * {@link ResiliencyPolicy.Builder#drills}.
 *
 * @param plan the sandbox and check each drill uses
 * @param everyCaptures drill after every this many captures; 0 when drills follow {@code every}
 * @param every the least time between two drills; empty when drills follow {@code everyCaptures}
 */
public record DrillSchedule(DrillPlan plan, int everyCaptures, Optional<Duration> every) {
  public DrillSchedule {
    Check.present("policy.drills.plan", plan);
    Check.present("policy.drills.every", every);
    if (everyCaptures < 0 || (everyCaptures == 0) == every.isEmpty()) {
      throw new InvalidSpecException("policy.drills", "give either a positive number of captures or a duration, "
          + "was " + everyCaptures + " captures and " + every.map(Duration::toString).orElse("no duration"));
    }
    every.ifPresent(d -> Check.positive("policy.drills.every", d));
  }

  /** A drill after every {@code n}th committed capture ({@code 1}: after each). */
  public static DrillSchedule everyCaptures(int n, DrillPlan plan) {
    if (n < 1) {
      throw new InvalidSpecException("policy.drills.everyCaptures", "must be at least 1, was " + n);
    }
    return new DrillSchedule(plan, n, Optional.empty());
  }

  /** A drill after the first capture committed once {@code interval} has passed since the last drill started. */
  public static DrillSchedule every(Duration interval, DrillPlan plan) {
    return new DrillSchedule(plan, 0, Optional.of(Check.positive("policy.drills.every", interval)));
  }
}
