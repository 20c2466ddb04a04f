package io.lencap.timeline;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Phase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Records the phases of every capture it hears, as bars per member: add it as a listener
 * ({@code Lencap.builder().listener(timeline)}), then {@link #bars(String)} or render one capture with
 * {@link TimelineImage}.
 */
public final class Timeline implements LencapListener {
  /** One phase of one member, from start to end. */
  public record Bar(String memberId, Phase phase, Instant start, Instant end) {
    public Duration duration() {
      return Duration.between(start, end);
    }
  }

  private final Map<String, List<LencapEvent.PhaseChanged>> byCheckpoint = new ConcurrentHashMap<>();

  @Override
  public void onEvent(LencapEvent event) {
    if (event instanceof LencapEvent.PhaseChanged p && p.memberId() != null) {
      byCheckpoint.computeIfAbsent(p.checkpointId(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
          .add(p);
    }
  }

  /** Checkpoint ids heard, in the order their first event arrived. */
  public List<String> checkpoints() {
    return byCheckpoint.entrySet().stream()
        .sorted(Comparator.comparing(e -> e.getValue().get(0).at()))
        .map(Map.Entry::getKey).toList();
  }

  /** The bars of one capture (or restore): each phase that started and ended, per member. */
  public List<Bar> bars(String checkpointId) {
    List<LencapEvent.PhaseChanged> events;
    synchronized (byCheckpoint.getOrDefault(checkpointId, List.of())) {
      events = List.copyOf(byCheckpoint.getOrDefault(checkpointId, List.of()));
    }
    Map<String, Instant> open = new LinkedHashMap<>();
    List<Bar> bars = new ArrayList<>();
    for (LencapEvent.PhaseChanged e : events) {
      String key = e.memberId() + "\0" + e.phase();
      if (e.status() == LencapEvent.Status.STARTED) {
        open.put(key, e.at());
      } else {
        Instant start = open.remove(key);
        if (start != null) {
          bars.add(new Bar(e.memberId(), e.phase(), start, e.at()));
        }
      }
    }
    return bars;
  }

  /** Each member's pause in a capture: from the start of its quiesce to the end of its resume. */
  public Map<String, Duration> pauses(String checkpointId) {
    Map<String, Duration> out = new LinkedHashMap<>();
    List<Bar> bars = bars(checkpointId);
    for (Bar q : bars) {
      if (q.phase() == Phase.QUIESCE) {
        Optional<Bar> r = bars.stream().filter(b -> b.memberId().equals(q.memberId()) && b.phase() == Phase.RESUME)
            .findFirst();
        r.ifPresent(b -> out.put(q.memberId(), Duration.between(q.start(), b.end())));
      }
    }
    return out;
  }
}
