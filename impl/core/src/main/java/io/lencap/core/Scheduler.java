package io.lencap.core;

import java.time.Duration;

/** Runs a task once after a delay: the engine's timer, or a test's fake time. */
@FunctionalInterface
interface Scheduler {
  void schedule(Runnable task, Duration delay);
}
