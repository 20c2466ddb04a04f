package io.lencap.core;

import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.RetentionPlan.Decision;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLockedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention of one store's checkpoints: plans by {@link CalendarRetention}, deletes manifests, and keeps the
 * protection marks ({@code protected/NAME/ID}, a small object beside the manifest, so that protection holds
 * for every process). Deleting a manifest is all retention does: the chunks go in the next collection,
 * which spares whatever a capture in flight names, so retention needs no lock against captures or
 * collections (a capture whose parent is deleted meanwhile proves its reused chunks at commit).
 */
final class CheckpointRetention {
  private static final Logger log = LoggerFactory.getLogger(CheckpointRetention.class);

  private final CheckpointStore store;
  private final BlobBackend backend;

  CheckpointRetention(CheckpointStore store) {
    this.store = store;
    this.backend = store.backend();
  }

  /**
   * Decides with the checkpoints, protection marks and restores in flight as they are now; unless a dry
   * run, deletes each checkpoint no rule keeps, looking again just before that it was not protected or
   * taken by a restore in the meantime.
   */
  RetentionPlan prune(String encapsulation, Retention retention, boolean dryRun) throws IOException {
    List<CalendarRetention.Point> points = store.manifests(encapsulation).stream()
        .map(m -> new CalendarRetention.Point(m.id(), m.recoveryLine())).toList();
    Set<String> read = new HashSet<>();
    store.pins(encapsulation).forEach(r -> read.add(r.checkpointId()));
    List<Decision> decisions = CalendarRetention.decide(points, retention,
        new HashSet<>(protectedIds(encapsulation)), read);
    Map<String, String> held = store.held(encapsulation, points.stream().map(CalendarRetention.Point::id).toList());
    if (!held.isEmpty()) {
      decisions = decisions.stream().map(d -> d.kept() || !held.containsKey(d.checkpointId()) ? d
          : new Decision(d.checkpointId(), d.time(), true, List.of(held.get(d.checkpointId())))).toList();
    }
    if (!dryRun) {
      List<Decision> done = new ArrayList<>();
      for (Decision d : decisions) {
        done.add(d.kept() ? d : delete(encapsulation, d));
      }
      decisions = done;
    }
    return new RetentionPlan(encapsulation, retention, dryRun, decisions);
  }

  /** Deletes one checkpoint retention does not keep; the decision becomes "kept" if it is held now. */
  private Decision delete(String encapsulation, Decision d) throws IOException {
    try {
      store.releasing(encapsulation, d.checkpointId());
      store.delete(encapsulation, d.checkpointId());
      log.info("retention deleted checkpoint {} of {}", d.checkpointId(), encapsulation);
      return d;
    } catch (NotFoundException gone) { // another process's retention or delete was first
      return d;
    } catch (ObjectLockedException locked) { // S3 Object Lock: the storage refuses until the date
      log.info("retention keeps {} of {}: {}", d.checkpointId(), encapsulation, locked.getMessage());
      return new Decision(d.checkpointId(), d.time(), true, List.of("locked until " + locked.lockedUntil()));
    } catch (LencapException held) { // protected, or a restore started reading it, since the plan
      log.info("retention keeps {} of {}: {}", d.checkpointId(), encapsulation, held.getMessage());
      boolean isProtected = backend.exists(CheckpointStore.protectedKey(encapsulation, d.checkpointId()));
      return new Decision(d.checkpointId(), d.time(), true,
          List.of(isProtected ? "protected" : "read by a restore or sync"));
    }
  }

  /**
   * Sets or lifts a checkpoint's protection. Setting writes the mark, then checks that the checkpoint is
   * still there: a retention that deleted it first makes this fail instead of protecting nothing.
   */
  void setProtected(String encapsulation, String id, boolean isProtected) throws IOException {
    String key = CheckpointStore.protectedKey(encapsulation, id);
    if (!isProtected) {
      backend.delete(key);
      backend.flush();
      return;
    }
    store.manifest(encapsulation, id); // NotFoundException when absent
    String mark = "{\"protected\":true}"; // its presence is the mark
    backend.put(key, store.codec().encode(key, mark.getBytes(StandardCharsets.UTF_8)));
    backend.flush();
    try {
      store.manifest(encapsulation, id);
    } catch (NotFoundException e) {
      backend.delete(key);
      throw e;
    }
  }

  /** Ids of the encapsulation's committed checkpoints that are protected, oldest first. */
  List<String> protectedCheckpoints(String encapsulation) throws IOException {
    Set<String> committed = new HashSet<>();
    store.manifests(encapsulation).forEach(m -> committed.add(m.id()));
    return protectedIds(encapsulation).stream().filter(committed::contains).toList();
  }

  /** Ids of the encapsulation's protection marks (a mark may outlive a checkpoint deleted by hand), oldest first. */
  List<String> protectedIds(String encapsulation) throws IOException {
    return backend.list(CheckpointStore.PROTECTED + encapsulation + "/").stream().map(BlobInfo::key)
        .map(k -> k.substring(k.lastIndexOf('/') + 1)).sorted().toList();
  }
}
