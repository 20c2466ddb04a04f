package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.CollectReport;
import io.lencap.api.ResourceType;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture that deduplicates against a garbage chunk must never commit a checkpoint that lacks it, in
 * whatever order its commit and a collection interleave (driven step by step through a backend wrapper).
 */
class CollectionRaceTest {
  @TempDir
  Path dir;

  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  final byte[] data = "content that an old, deleted checkpoint once held".getBytes();
  Gate backend;
  CheckpointStore store;
  CheckpointStore otherProcess;
  String id;

  /** Lets the test stop a collection between its mark and its sweep, and see when a commit waits. */
  static final class Gate extends ForwardingBackend {
    final CountDownLatch collectionMarked = new CountDownLatch(1);
    final CountDownLatch resumeCollection = new CountDownLatch(1);
    final CountDownLatch commitWaiting = new CountDownLatch(1);
    volatile boolean gated;

    Gate(BlobBackend delegate) {
      super(delegate);
    }

    @Override
    public List<BlobInfo> list(String prefix) throws IOException {
      if (gated && prefix.equals(ChunkStore.PREFIX)) {
        collectionMarked.countDown(); // journal and manifests read: about to sweep
        await(resumeCollection);
      }
      if (prefix.equals(Leases.PREFIX + Leases.COLLECT + "/") && collectionMarked.getCount() == 0
          && Thread.currentThread().getName().startsWith("commit")) {
        commitWaiting.countDown();
      }
      return super.list(prefix);
    }

    private static void await(CountDownLatch l) {
      try {
        assertTrue(l.await(30, TimeUnit.SECONDS));
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  CheckpointStore open(BlobBackend b, String host) {
    RecordSeal seal = RecordSeal.withKey(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    JournalRecord.Owner owner = new JournalRecord.Owner(host, ProcessHandle.current().pid(),
        ProcessHandle.current().info().startInstant().orElse(Instant.EPOCH));
    return new CheckpointStore(b, ChunkCodec.plain(), seal, new Leases(b, seal, owner, Duration.ofSeconds(30), timer),
        Duration.ZERO);
  }

  @BeforeEach
  void garbageChunk() throws Exception {
    backend = new Gate(new LocalBackend(dir));
    store = open(backend, "capturing-host");
    otherProcess = open(backend, "collecting-host");
    id = store.codec().id(data, 0, data.length);
    assertTrue(store.chunks().put(id, data) > 0);
    // Unreferenced and old: what retention leaves for the next collection.
    Files.setLastModifiedTime(dir.resolve(ChunkStore.key(id)),
        FileTime.from(Instant.now().minus(Duration.ofHours(1))));
  }

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  Manifest manifest(String cp) {
    StoredEntry e = new StoredEntry("data", EntryKind.FILE, data.length, Map.of(), List.of(new ChunkRef(id, 0, data.length)));
    Manifest.Member m = new Manifest.Member("m", ResourceType.BLOCK_VOLUME, "mem://d", Map.of(), "memory", 0, data.length, 0,
        "x", List.of(), Map.of(), List.of(e), Map.of(), Map.of());
    Instant now = Instant.now();
    return new Manifest(Manifest.FORMAT, cp, "g", null, CaptureMode.NON_BLOCKING, now, now, now, List.of(m));
  }

  JournalRecord record(String cp) {
    return JournalRecord.capture(cp, "g", new JournalRecord.Owner("h", 1, Instant.EPOCH), Instant.now(), List.of());
  }

  @Test
  void aCollectionBeforeTheChunksAreNamedIsCaughtAtCommit() throws Exception {
    String generation = store.generation();
    assertEquals(0, store.chunks().put(id, data), "the capture deduplicates against the garbage chunk");
    JournalRecord r = record("c1");
    store.record(r);
    assertEquals(1, otherProcess.collect().deleted(), "the collection takes the garbage chunk: nothing names it yet");
    Manifest m = manifest("c1");
    store.record(r.withChunks(CheckpointStore.chunksOf(m).keySet()));
    CaptureAbortedException e = assertThrows(CaptureAbortedException.class,
        () -> store.commit(m, generation, Duration.ofSeconds(30)));
    assertTrue(e.getMessage().contains(id), e.getMessage());
    assertTrue(store.manifests("g").isEmpty(), "no checkpoint that names a missing chunk");
  }

  @Test
  void aCollectionAfterTheChunksAreNamedSparesThem() throws Exception {
    String generation = store.generation();
    assertEquals(0, store.chunks().put(id, data));
    Manifest m = manifest("c1");
    store.record(record("c1").withChunks(CheckpointStore.chunksOf(m).keySet()));
    assertEquals(0, otherProcess.collect().deleted(), "the journal names the reused chunk");
    store.commit(m, generation, Duration.ofSeconds(30));
    store.forget("c1");
    assertEquals(1, store.manifests("g").size());
    assertTrue(store.verify("g").ok());
  }

  /**
   * The collection has read the journal and the manifests (nothing names the chunk) and is about to sweep;
   * the capture names the chunk and commits. The commit must wait for the sweep and then find the chunk
   * gone, instead of committing a checkpoint whose chunk the sweep deletes right after.
   */
  @Test
  void aCommitDuringASweepWaitsForItAndSeesWhatItTook() throws Exception {
    String generation = store.generation();
    assertEquals(0, store.chunks().put(id, data));
    backend.gated = true;
    CompletableFuture<Integer> collection = CompletableFuture.supplyAsync(() -> {
      try {
        return otherProcess.collect().deleted();
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }, Executors.newSingleThreadExecutor(r -> new Thread(r, "collect")));
    assertTrue(backend.collectionMarked.await(30, TimeUnit.SECONDS));
    backend.gated = false;
    Manifest m = manifest("c1");
    CompletableFuture<Optional<Throwable>> commit = CompletableFuture.supplyAsync(() -> {
      try {
        store.record(record("c1").withChunks(CheckpointStore.chunksOf(m).keySet()));
        store.commit(m, generation, Duration.ofSeconds(30));
        return Optional.empty();
      } catch (Exception e) {
        return Optional.of(e);
      }
    }, Executors.newSingleThreadExecutor(r -> new Thread(r, "commit")));
    // Either the commit finished (it must not, while the sweep is live) or it is polling the collection lease.
    CompletableFuture.anyOf(commit, CompletableFuture.runAsync(() -> Gate.await(backend.commitWaiting))).join();
    backend.resumeCollection.countDown();
    assertEquals(1, collection.join(), "the sweep takes the chunk that nothing named when it marked");
    Optional<Throwable> outcome = commit.join();
    assertTrue(outcome.isPresent() && outcome.get() instanceof CaptureAbortedException,
        "the commit went through although the sweep took its chunk: " + outcome);
    assertTrue(store.manifests("g").isEmpty());
  }

  @Test
  void twoCollectorsNeverSweepAtOnce() throws Exception {
    backend.gated = true;
    CompletableFuture<Integer> first = CompletableFuture.supplyAsync(() -> {
      try {
        return otherProcess.collect().deleted();
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
    assertTrue(backend.collectionMarked.await(30, TimeUnit.SECONDS));
    backend.gated = false;
    assertEquals(CollectReport.notRun(), store.collect(), "a second collector ran while the first held the store");
    backend.resumeCollection.countDown();
    assertEquals(1, first.join());
  }
}
