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
 * The drill runs beside the protection's captures (the next capture never waits for it) and publishes its own report
 * as an event. One drill at a time: a drill due while the last one still runs is skipped (a timed schedule tries
 * again at the next capture).
 */
final class ProtectionDrills {
  private static final Logger log = LoggerFactory.getLogger(ProtectionDrills.class);

  private final Lencap lencap;
  private final DrillSchedule schedule;
  private final Clock clock;
  private int captures;
  private Instant lastDrill;
  private CompletableFuture<Void> drilling = CompletableFuture.completedFuture(null);

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
    return due(true);
  }

  /** Counts a committed capture; true when it makes a drill due (counted as started now only when {@code idle}). */
  private boolean due(boolean idle) {
    captures++;
    Instant now = clock.instant();
    boolean due = schedule.everyCaptures() > 0 ? captures % schedule.everyCaptures() == 0
        : lastDrill == null || !now.isBefore(lastDrill.plus(schedule.every().orElseThrow()));
    if (due && idle) {
      lastDrill = now;
    }
    return due;
  }

  /**
   * Starts a drill of the checkpoint just committed when one is due and none is running; returns the running drill,
   * which completes (never exceptionally) when it is done.
   */
  synchronized CompletableFuture<Void> afterCapture(Encapsulation group, Checkpoint cp) {
    boolean idle = drilling.isDone();
    if (!due(idle)) {
      return drilling;
    }
    if (!idle) {
      log.info("no drill of {} at {}: the last drill still runs", group.name(), cp.id());
      return drilling;
    }
    drilling = lencap.drill(group, cp.id(), schedule.plan()).handle((report, e) -> {
      if (e != null) {
        log.warn("scheduled drill of {} at {} could not run: {}", group.name(), cp.id(), Failures.unwrap(e).toString());
      }
      return null;
    });
    return drilling;
  }
}
