package io.lencap.core;

import io.lencap.api.LencapEvent;
import io.lencap.api.Retention;
import io.lencap.api.SyncReport;
import io.lencap.spi.BlobInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a tiered engine's checkpoints from its local tier to its durable tier in the background, with
 * {@link CheckpointCopy} (the sync's copy: verified on arrival, resumable), one group at a time on one thread
 * of its own, and says so in events. A request for a group whose copy is already queued joins it; one made
 * while a copy runs queues the next, so a capture that commits during a copy is copied right after.
 *
 * <p>What is copied is counted from the durable tier alone, so that a process that died before its copy
 * needs no record: a local checkpoint <em>awaits</em> its copy when the durable tier has neither its manifest
 * nor a <em>pruned mark</em> ({@code pruned/NAME/ID}, a small object the durable tier's retention writes just
 * before it deletes a checkpoint). The order of ids plays no part, so a checkpoint older than the durable
 * tier's newest (another node's local tier, a clock behind) is copied too. The local tier's retention keeps
 * every checkpoint that awaits its copy.
 */
final class Replication implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Replication.class);
  static final String AWAITING = "its copy to the durable store has not arrived";
  /** On the durable tier, a mark per checkpoint its retention deleted: copied once, not to be copied again. */
  static final String PRUNED = "pruned/";

  private final Engine local;
  private final Engine durable;
  private final Retention durableRetention;
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "lencap-replication");
    t.setDaemon(true);
    return t;
  });
  /** Per group, the copy requested and not started yet. */
  private final Map<String, CompletableFuture<SyncReport>> queued = new ConcurrentHashMap<>();
  /** What {@link #between} queued and has not finished: failed on close, if the thread dropped it. */
  private final Set<CompletableFuture<?>> between = ConcurrentHashMap.newKeySet();

  Replication(Engine local, Engine durable, Retention durableRetention) {
    this.local = local;
    this.durable = durable;
    this.durableRetention = durableRetention;
    local.store().hold((encapsulation, ids) -> awaiting(encapsulation, ids));
    durable.store().hold(new CheckpointStore.RetentionHold() {
      @Override
      public Map<String, String> held(String encapsulation, List<String> ids) {
        return ids.stream().max(String::compareTo).map(newest -> Map.of(newest, "newest on the durable store"))
            .orElse(Map.<String, String>of());
      }

      @Override
      public void releasing(String encapsulation, String id) throws IOException {
        markPruned(encapsulation, id);
      }
    });
    local.store().committedAs(io.lencap.api.Durability.LOCAL);
  }

  /**
   * Copies the group's checkpoints that await their copy. Completes with what was copied, or exceptionally
   * with the copy's error translated ({@link io.lencap.api.UnavailableException} when a store cannot be read
   * or written); either way after the events say so.
   */
  CompletableFuture<SyncReport> replicate(String encapsulation) {
    CompletableFuture<SyncReport> next = new CompletableFuture<>();
    CompletableFuture<SyncReport> joined = queued.putIfAbsent(encapsulation, next);
    if (joined != null) {
      return joined;
    }
    try {
      thread.execute(() -> {
        queued.remove(encapsulation, next);
        run(encapsulation, next);
      });
    } catch (RuntimeException closed) {
      queued.remove(encapsulation, next);
      next.completeExceptionally(new io.lencap.api.LencapException("the engine is closing; the copy of "
          + encapsulation + " is made by its next capture or repair"));
    }
    return next;
  }

  private void run(String encapsulation, CompletableFuture<SyncReport> result) {
    Events events = local.context().events();
    try {
      Set<String> pruned = prunedIds(encapsulation);
      SyncReport report = new CheckpointCopy(local.store(), durable.store(), local.owner(), local.context().clock(),
          durable.context().storePool(), Duration.ofMinutes(10))
          .copy(encapsulation, m -> !pruned.contains(m.id()));
      for (String id : report.copied()) {
        events.publish(new LencapEvent.Replicated(encapsulation, id, local.context().clock().instant()));
      }
      if (!report.copied().isEmpty() && durable.store().retain(encapsulation, durableRetention) > 0) {
        durable.store().collect();
      }
      result.complete(report);
    } catch (IOException | RuntimeException e) {
      RuntimeException failure = Failures.translate(e, "copy of " + encapsulation + " to the durable store "
          + durable.store().describe());
      log.warn("{}", failure.getMessage());
      for (String id : stillAwaiting(encapsulation)) {
        events.publish(new LencapEvent.ReplicationFailed(encapsulation, id, String.valueOf(failure.getMessage()),
            local.context().clock().instant()));
      }
      result.completeExceptionally(failure);
    }
  }

  /** The local checkpoints that await their copy, after a failure (all of them, when that cannot be read). */
  private List<String> stillAwaiting(String encapsulation) {
    try {
      List<String> ids = local.store().manifests(encapsulation).stream().map(Manifest::id).toList();
      return List.copyOf(awaiting(encapsulation, ids).keySet());
    } catch (IOException | RuntimeException e) {
      log.warn("cannot list the local checkpoints of {}: {}", encapsulation, e.toString());
      return List.of();
    }
  }

  /**
   * Which of the local tier's {@code ids} await their copy, with why. When the durable tier cannot be listed,
   * all of them (the safe side for retention).
   */
  Map<String, String> awaiting(String encapsulation, List<String> ids) {
    Set<String> there;
    try {
      there = durableIds(encapsulation);
      there.addAll(prunedIds(encapsulation));
    } catch (IOException | RuntimeException e) {
      Map<String, String> all = new LinkedHashMap<>();
      ids.forEach(id -> all.put(id, "the durable store cannot be listed (" + e.getMessage() + ")"));
      return all;
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String id : ids) {
      if (!there.contains(id)) {
        out.put(id, AWAITING);
      }
    }
    return out;
  }

  /** The ids of the group's checkpoints on the durable tier, from one listing (no manifest is read). */
  Set<String> durableIds(String encapsulation) throws IOException {
    Set<String> ids = new TreeSet<>();
    for (BlobInfo info : durable.store().backend().list(CheckpointStore.CHECKPOINTS + encapsulation + "/")) {
      ids.add(info.key().substring(info.key().lastIndexOf('/') + 1));
    }
    return ids;
  }

  /** The ids the durable tier's retention deleted (their pruned marks), from one listing. */
  Set<String> prunedIds(String encapsulation) throws IOException {
    Set<String> ids = new TreeSet<>();
    for (BlobInfo info : durable.store().backend().list(PRUNED + encapsulation + "/")) {
      ids.add(info.key().substring(info.key().lastIndexOf('/') + 1));
    }
    return ids;
  }

  /** Marks a checkpoint the durable tier's retention is about to delete, before it does (so a crash between loses nothing). */
  private void markPruned(String encapsulation, String id) throws IOException {
    String key = PRUNED + encapsulation + "/" + id;
    byte[] mark = "{\"pruned\":true}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    durable.store().backend().put(key, durable.store().codec().encode(key, mark));
    durable.store().backend().flush();
  }

  /**
   * Runs {@code action} on the copy thread, after the copies requested before it and before those requested
   * after: no copy of this instance runs meanwhile. A delete runs so, since a copy that has read a checkpoint's
   * manifest would otherwise write it on the durable tier after the delete (and the checkpoint come back).
   */
  <T> CompletableFuture<T> between(Supplier<CompletableFuture<T>> action) {
    CompletableFuture<T> result = new CompletableFuture<>();
    between.add(result);
    result.whenComplete((v, e) -> between.remove(result));
    try {
      thread.execute(() -> {
        try {
          result.complete(action.get().join());
        } catch (RuntimeException e) {
          result.completeExceptionally(Failures.unwrap(e));
        }
      });
    } catch (RuntimeException closed) {
      result.completeExceptionally(new io.lencap.api.LencapException("the engine is closing"));
    }
    return result;
  }

  /** Stops copying: a copy under way is interrupted and left for the next capture or repair to complete. */
  @Override
  public void close() {
    thread.shutdownNow();
    try {
      if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
        log.warn("a copy to the durable store did not stop within 60 s of closing");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    queued.values().forEach(f -> f.cancel(false));
    List.copyOf(between).forEach(f -> f.completeExceptionally(new io.lencap.api.LencapException(
        "the engine closed before this ran")));
  }
}
