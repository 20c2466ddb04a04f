package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.DrillSchedule;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A protection's drills ({@link DrillSchedule}): after each committed capture, decides whether a drill is due (every
 * n-th capture, or the first capture once the interval since the last drill has passed) and drills that checkpoint.
 * The drill publishes its own report as an event; here its end only lets the protection's next capture start.
 */
final class ProtectionDrills {
  private static final Logger log = LoggerFactory.getLogger(ProtectionDrills.class);

  private final Lencap lencap;
  private final DrillSchedule schedule;
  private final Clock clock;
  private int captures;
  private Instant lastDrill;

  /** Checks the plan's sandbox against the group now, so that a protection never starts with drills that cannot run. */
  ProtectionDrills(Lencap lencap, Encapsulation group, DrillSchedule schedule, ProviderRegistry providers,
      Clock clock) {
    DrillSandbox.of(group, schedule.plan().sandbox(), providers);
    this.lencap = lencap;
    this.schedule = schedule;
    this.clock = clock;
  }

  /** Counts a committed capture; true when it makes a drill due (then counted as started now). */
  synchronized boolean due() {
    captures++;
    Instant now = clock.instant();
    boolean due = schedule.everyCaptures() > 0 ? captures % schedule.everyCaptures() == 0
        : lastDrill == null || !now.isBefore(lastDrill.plus(schedule.every().orElseThrow()));
    if (due) {
      lastDrill = now;
    }
    return due;
  }

  /** Drills the checkpoint just committed when a drill is due; completes (never exceptionally) when it is done. */
  CompletableFuture<Void> afterCapture(Encapsulation group, Checkpoint cp) {
    if (!due()) {
      return CompletableFuture.completedFuture(null);
    }
    return lencap.drill(group, cp.id(), schedule.plan()).handle((report, e) -> {
      if (e != null) {
        log.warn("scheduled drill of {} at {} could not run: {}", group.name(), cp.id(), Failures.unwrap(e).toString());
      }
      return null;
    });
  }
}
