package io.lencap.libvirt;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Phase;
import io.lencap.testing.CounterGuest;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads each counter guest's disk at the moments that matter, from inside the engine's event stream
 * (listeners run synchronously, before the next phase starts): right after its cut (the frozen base, or
 * the disk of a saved domain) and right after its restore (while it is still paused).
 */
final class CutProbe implements LencapListener {
  private final Map<String, Path> disks;
  final Map<String, Integer> atCut = new ConcurrentHashMap<>();
  final Map<String, Integer> atRestore = new ConcurrentHashMap<>();
  final Map<String, Instant> cutStarted = new ConcurrentHashMap<>();
  final Map<String, Instant> cutCompleted = new ConcurrentHashMap<>();
  final Map<String, Throwable> errors = new ConcurrentHashMap<>();

  /** @param disks member id to the disk file to read after its cut and after its restore */
  CutProbe(Map<String, Path> disks) {
    this.disks = new ConcurrentHashMap<>(disks);
  }

  /** Where a member's disk is after a restore elsewhere. */
  void restoredAt(String member, Path disk) {
    disks.put(member + "#restore", disk);
  }

  @Override
  public void onEvent(LencapEvent event) {
    if (!(event instanceof LencapEvent.PhaseChanged p) || p.memberId() == null) {
      return;
    }
    String m = p.memberId();
    try {
      if (p.phase() == Phase.CUT && p.status() == LencapEvent.Status.STARTED) {
        cutStarted.put(m, p.at());
      } else if (p.phase() == Phase.CUT && p.status() == LencapEvent.Status.COMPLETED) {
        cutCompleted.put(m, p.at());
        if (disks.containsKey(m)) {
          CounterGuest.diskCounter(disks.get(m)).ifPresent(v -> atCut.put(m, v));
        }
      } else if (p.phase() == Phase.RESTORE && p.status() == LencapEvent.Status.COMPLETED) {
        Path d = disks.getOrDefault(m + "#restore", disks.get(m));
        if (d != null) {
          CounterGuest.diskCounter(d).ifPresent(v -> atRestore.put(m, v));
        }
      }
    } catch (Exception e) {
      errors.put(m, e);
    }
  }
}
