package io.lencap.core;

import io.lencap.spi.ProviderContext;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What captures, restores, repairs and protections use of the engine: its store, providers, threads, events
 * and time.
 *
 * @param executor blocking provider and store calls
 * @param chunkPool hashing, compression, encryption: CPU work
 * @param storePool chunk reads and writes of the backend: I/O work
 * @param resumePool resumes and other undo calls: threads no provider call of a capture or restore can take
 * @param timer time limits and watchdogs; never runs listeners ({@link Events})
 * @param clock instants that are recorded (recovery lines, events)
 * @param ticker intervals that are measured (pauses, what is left of a budget)
 * @param owner this process, as journal records name it
 */
record RunContext(CheckpointStore store, ProviderRegistry providers, ProviderContext providerContext,
    Executor executor, Executor chunkPool, Executor storePool, Executor resumePool, ScheduledExecutorService timer,
    Events events, Clock clock, Ticker ticker, JournalRecord.Owner owner) {

  /** The timer as a {@link Scheduler}. */
  Scheduler scheduler() {
    return (task, delay) -> timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
  }
}
