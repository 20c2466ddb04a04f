package io.lencap.benchmarks;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How long the member and the group spent in each phase of the last capture: where its fixed cost goes. */
final class PhaseTimes implements LencapListener {
  private final Map<String, Instant> started = new LinkedHashMap<>();
  private final Map<String, Duration> took = new LinkedHashMap<>();
  private final List<String> details = new ArrayList<>();

  @Override
  public synchronized void onEvent(LencapEvent event) {
    if (event instanceof LencapEvent.PhaseChanged p) {
      String what = (p.memberId() == null ? "group " : "") + p.phase();
      if (p.status() == LencapEvent.Status.STARTED) {
        started.put(what, p.at());
      } else if (started.containsKey(what)) {
        took.put(what, Duration.between(started.get(what), p.at()));
      }
      if (p.detail() != null) {
        details.add(p.detail());
      }
    }
  }

  /** How long {@code what} (a phase, {@code "group "} before a group's) took in the last capture. */
  synchronized Duration took(String what) {
    Duration d = took.get(what);
    if (d == null) {
      throw new IllegalStateException("no " + what + " phase ended: " + took.keySet());
    }
    return d;
  }

  /** The details of the phase events since the last clear (a restore's notes are its phase's detail). */
  synchronized List<String> notes() {
    return List.copyOf(details);
  }

  synchronized void clear() {
    started.clear();
    took.clear();
    details.clear();
  }

  @Override
  public synchronized String toString() {
    StringBuilder s = new StringBuilder();
    took.forEach((phase, d) -> s.append(phase).append(' ').append(d.toMillis()).append(" ms, "));
    return s.length() == 0 ? "none" : s.substring(0, s.length() - 2);
  }
}
