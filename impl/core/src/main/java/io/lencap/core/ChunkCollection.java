package io.lencap.core;

import io.lencap.api.CollectReport;
import io.lencap.api.LencapException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLockedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mark and sweep of the store's chunks: deletes those that no committed manifest and no journal record
 * names, sparing those written since the oldest operation in flight started (by the storage's clock). Only
 * one collection runs at a time on a store (the {@link Leases#COLLECT} lease), and each changes the
 * generation ({@code gc/generation}) when it starts and when it ends, so that a commit can tell that one
 * ran (see {@link CheckpointStore}).
 */
final class ChunkCollection {
  private static final Logger log = LoggerFactory.getLogger(ChunkCollection.class);
  static final String GENERATION = "gc/generation";

  private final CheckpointStore store;
  private final BlobBackend backend;
  private final ChunkStore chunks;
  private final Leases leases;
  private final Duration clockSkew;
  private final Object lock = new Object();

  ChunkCollection(CheckpointStore store, BlobBackend backend, ChunkStore chunks, Leases leases, Duration clockSkew) {
    this.store = store;
    this.backend = backend;
    this.chunks = chunks;
    this.leases = leases;
    this.clockSkew = clockSkew;
  }

  /** The collection generation now, read from the store. */
  String generation() throws IOException {
    String now = backend.get(GENERATION).map(b -> new String(b, StandardCharsets.UTF_8)).orElse("");
    chunks.generationIs(now);
    return now;
  }

  /** Runs a collection unless another is live; says what it deleted and what the storage's locks kept. */
  CollectReport run() throws IOException {
    synchronized (lock) {
      Leases.Lease lease;
      try {
        lease = leases.acquire(Leases.COLLECT, UUID.randomUUID().toString(), "collection");
      } catch (Leases.HeldException e) {
        log.debug("not collecting {}: {} is collecting", backend.describe(), e.getMessage());
        return CollectReport.notRun();
      }
      try (lease) {
        Instant started = leases.storageNow();
        newGeneration();
        try {
          return sweep(started, lease);
        } finally {
          newGeneration();
        }
      }
    }
  }

  private void newGeneration() throws IOException {
    backend.put(GENERATION, UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
  }

  private CollectReport sweep(Instant started, Leases.Lease lease) throws IOException {
    // The journal before the manifests: a capture that commits in between is then in one or the other.
    Instant cutoff = started;
    Set<String> live = new HashSet<>();
    for (JournalRecord r : store.records(false)) {
      live.addAll(r.chunks());
    }
    for (JournalRecord r : store.journal()) { // only authentic records hold fresh chunks back
      if (r.startedAt().isBefore(cutoff)) {
        cutoff = r.startedAt();
      }
    }
    cutoff = cutoff.minus(clockSkew);
    List<Manifest> manifests;
    try {
      manifests = store.allManifests();
    } catch (LencapException e) {
      log.warn("not collecting {}: {} (the chunks it names are unknown; fix or delete it)", backend.describe(),
          e.getMessage());
      return new CollectReport(true, 0, 0, Optional.empty());
    }
    // A delta is live when a manifest names it as one (which also makes its base live) or a record names it; a
    // pack when a manifest names a chunk in it or a record names it.
    Set<String> liveDeltas = new HashSet<>(live);
    Set<String> livePacks = new HashSet<>(live);
    for (Manifest m : manifests) {
      live.addAll(CheckpointStore.chunksOf(m).keySet());
      liveDeltas.addAll(CheckpointStore.deltasOf(m).keySet());
      livePacks.addAll(CheckpointStore.packsOf(m));
    }
    int deleted = 0;
    int locked = 0;
    Instant lockedUntil = null;
    List<BlobInfo> objects = new java.util.ArrayList<>(backend.list(ChunkStore.PREFIX));
    int wholeChunks = objects.size();
    objects.addAll(backend.list(ChunkStore.DELTAS));
    int deltas = objects.size();
    objects.addAll(backend.list(ChunkPacks.PREFIX));
    for (int i = 0; i < objects.size(); i++) {
      BlobInfo info = objects.get(i);
      String id = ChunkStore.idOf(info.key());
      if (!(i < wholeChunks ? live : i < deltas ? liveDeltas : livePacks).contains(id)
          && info.lastModified().isBefore(cutoff)) {
        if (!lease.fresh()) {
          log.warn("collection of {} stopped: its lease could not be renewed in time", backend.describe());
          break;
        }
        if (i < deltas) {
          chunks.deleted(id);
        } else {
          chunks.packDeleted(id);
        }
        try {
          backend.delete(info.key());
          deleted++;
        } catch (ObjectLockedException e) { // retained by S3 Object Lock: collected once the date passes
          locked++;
          lockedUntil = lockedUntil == null || e.lockedUntil().isAfter(lockedUntil) ? e.lockedUntil() : lockedUntil;
        }
      }
    }
    if (deleted > 0) {
      log.debug("collected {} unreferenced chunks from {}", deleted, backend.describe());
    }
    if (locked > 0) {
      log.info("collection of {} skipped {} unreferenced chunks that are locked (the last until {})",
          backend.describe(), locked, lockedUntil);
    }
    return new CollectReport(true, deleted, locked, Optional.ofNullable(lockedUntil));
  }
}
