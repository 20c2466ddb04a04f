package io.lencap.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Time that moves only when a test says: a {@link Ticker} and a {@link Scheduler} whose tasks run on advance. */
final class FakeTime implements Ticker, Scheduler {
  private record Due(long atNanos, long order, Runnable task) {}

  private final List<Due> due = new ArrayList<>();
  private long nanos = 1_000_000_000L; // not zero: code must not read zero as "not started"
  private long scheduled;

  @Override
  public synchronized long read() {
    return nanos;
  }

  @Override
  public synchronized void schedule(Runnable task, Duration delay) {
    due.add(new Due(nanos + delay.toNanos(), scheduled++, task));
  }

  /** Moves time forward, running each task that falls due on the way, at its own time, in order. */
  void advance(Duration by) {
    long until;
    synchronized (this) {
      until = nanos + by.toNanos();
    }
    while (true) {
      Due next;
      synchronized (this) {
        next = due.stream().filter(d -> d.atNanos() <= until)
            .min(Comparator.comparingLong(Due::atNanos).thenComparingLong(Due::order)).orElse(null);
        if (next == null) {
          nanos = until;
          return;
        }
        due.remove(next);
        nanos = next.atNanos();
      }
      next.task().run();
    }
  }

  synchronized int pending() {
    return due.size();
  }
}
