package io.lencap.core;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * The pause budget of one capture and its watchdogs. The budget bounds the group's pause: it starts at the
 * group's first quiesce, and once it has passed the capture is told, to abort if a member is still paused.
 * Each member also has a watchdog, set at its own quiesce for budget plus grace, that resumes the member
 * directly if it is still paused then: that holds even when the capture is stuck in a provider call.
 */
final class PauseBudget {
  private final Duration budget;
  private final Duration grace;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private boolean started; // guarded by this
  private volatile long startNanos;

  PauseBudget(Duration budget, Duration grace, Ticker ticker, Scheduler scheduler) {
    this.budget = budget;
    this.grace = grace;
    this.ticker = ticker;
    this.scheduler = scheduler;
  }

  /** Starts the budget at the group's first quiesce; later calls do nothing. {@code whenPassed} runs once it has passed. */
  void start(Runnable whenPassed) {
    synchronized (this) {
      if (started) {
        return;
      }
      started = true;
      startNanos = ticker.read();
    }
    scheduler.schedule(whenPassed, budget);
  }

  /**
   * Watches a member whose quiesce starts now: past budget plus grace, {@code resume} runs unless
   * {@code resumed} says the member was resumed by then.
   */
  void watch(BooleanSupplier resumed, Runnable resume) {
    scheduler.schedule(() -> {
      if (!resumed.getAsBoolean()) {
        resume.run();
      }
    }, budget.plus(grace));
  }

  /**
   * What is left of the budget (all of it before the first quiesce), at least a millisecond: a call limited by
   * it still gets to start and fail with its own time-out.
   */
  Duration remaining() {
    long used;
    synchronized (this) {
      used = started ? ticker.read() - startNanos : 0;
    }
    return Duration.ofNanos(Math.max(1_000_000L, budget.toNanos() - used));
  }

  /** What a call or capture that ran past the budget says. */
  String exceeded() {
    return "the pause budget of " + budget + " was exceeded";
  }
}
