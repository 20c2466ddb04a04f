package io.lencap.core;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Phase;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events to listeners; a listener that throws is logged and otherwise ignored. Events raised on the
 * engine's timer thread, which drives the watchdogs, are handed to the event thread, so that no listener
 * can delay a watchdog; others are delivered on the thread that raised them.
 */
final class Events {
  private static final Logger log = LoggerFactory.getLogger(Events.class);
  private static final ThreadLocal<Boolean> ON_TIMER = ThreadLocal.withInitial(() -> false);
  private final List<LencapListener> listeners = new CopyOnWriteArrayList<>();
  private final Clock clock;
  private final Executor eventThread;

  Events(Clock clock, List<LencapListener> initial, Executor eventThread) {
    this.clock = clock;
    this.eventThread = eventThread;
    listeners.addAll(initial);
  }

  /** Threads for the engine's timer: events they raise go to the event thread. */
  static ThreadFactory timerThreads(ThreadFactory threads) {
    return r -> threads.newThread(() -> {
      ON_TIMER.set(true);
      r.run();
    });
  }

  void add(LencapListener l) {
    listeners.add(l);
  }

  void remove(LencapListener l) {
    listeners.remove(l);
  }

  void phase(String encapsulation, String checkpointId, String memberId, Phase phase,
      LencapEvent.Status status, String detail) {
    publish(new LencapEvent.PhaseChanged(encapsulation, checkpointId, memberId, phase, status, clock.instant(),
        detail));
  }

  void progress(String encapsulation, String checkpointId, String memberId, long done, long total) {
    publish(new LencapEvent.Progress(encapsulation, checkpointId, memberId, done, total, clock.instant()));
  }

  void publish(LencapEvent e) {
    if (ON_TIMER.get()) {
      try {
        eventThread.execute(() -> deliver(e));
      } catch (RuntimeException closing) {
        log.debug("event {} not delivered: the engine is closing", e);
      }
    } else {
      deliver(e);
    }
  }

  private void deliver(LencapEvent e) {
    for (LencapListener l : listeners) {
      try {
        l.onEvent(e);
      } catch (RuntimeException ex) {
        log.warn("listener {} failed on {}: {}", l, e, ex.toString());
      }
    }
  }
}
