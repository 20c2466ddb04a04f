package io.lencap.core;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Phase;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Delivers events to listeners; a listener that throws is logged and otherwise ignored. */
final class Events {
  private static final Logger log = LoggerFactory.getLogger(Events.class);
  private final List<LencapListener> listeners = new CopyOnWriteArrayList<>();
  private final Clock clock;

  Events(Clock clock, List<LencapListener> initial) {
    this.clock = clock;
    listeners.addAll(initial);
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
    for (LencapListener l : listeners) {
      try {
        l.onEvent(e);
      } catch (RuntimeException ex) {
        log.warn("listener {} failed on {}: {}", l, e, ex.toString());
      }
    }
  }
}
