package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.CollectReport;
import io.lencap.api.ResourceType;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ObjectLock;
import io.lencap.spi.ObjectLockedException;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store over a backend with a write-once lock (a fake of S3 Object Lock; ObjectLockIT is the real one):
 * a commit locks every chunk before the manifest; retention keeps a locked checkpoint and says until when;
 * a collection skips a locked chunk without failing and takes it once the lock is lifted.
 */
class ObjectLockTest {
  static final Instant UNTIL = Instant.parse("2031-01-01T00:00:00Z");

  @TempDir
  Path dir;

  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  Locking backend;
  CheckpointStore store;

  /** Retains keys until {@link #UNTIL}; a delete of a retained key is refused until it is released. */
  static final class Locking extends ForwardingBackend implements ObjectLock {
    final Map<String, Instant> locked = new ConcurrentHashMap<>();
    final List<String> order = new CopyOnWriteArrayList<>();

    Locking(BlobBackend delegate) {
      super(delegate);
    }

    @Override
    public Optional<ObjectLock> objectLock() {
      return Optional.of(this);
    }

    @Override
    public void retain(Collection<String> keys) throws IOException {
      for (String key : keys) {
        assertTrue(exists(key), key + " is retained after it is written");
        order.add(key);
        locked.put(key, UNTIL);
      }
    }

    @Override
    public String describe() {
      return "fake lock";
    }

    @Override
    public void delete(String key) throws IOException {
      Instant until = locked.get(key);
      if (until != null) {
        throw new ObjectLockedException(key, until);
      }
      super.delete(key);
    }
  }

  @BeforeEach
  void open() throws IOException {
    backend = new Locking(new LocalBackend(dir));
    RecordSeal seal = RecordSeal.withKey(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    JournalRecord.Owner owner = new JournalRecord.Owner("h", ProcessHandle.current().pid(), Instant.EPOCH);
    store = new CheckpointStore(backend, ChunkCodec.plain(), seal,
        new Leases(backend, seal, owner, Duration.ofSeconds(30), timer), Duration.ZERO);
  }

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  /** Stores a checkpoint of one chunk of the text, committed at the time. */
  String commit(String cp, String text, Instant time) throws Exception {
    byte[] data = text.getBytes(StandardCharsets.UTF_8);
    String id = store.codec().id(data, 0, data.length);
    store.chunks().put(id, data);
    Files.setLastModifiedTime(dir.resolve(ChunkStore.key(id)), FileTime.from(Instant.now().minusSeconds(3600)));
    StoredEntry e = new StoredEntry("data", EntryKind.FILE, data.length, Map.of(),
        List.of(new ChunkRef(id, 0, data.length)));
    Manifest.Member m = new Manifest.Member("m", ResourceType.BLOCK_VOLUME, "mem://d", Map.of(), "memory", 0,
        data.length, 0, "x", List.of(), Map.of(), List.of(e), Map.of(), Map.of());
    store.commit(new Manifest(Manifest.FORMAT, cp, "g", null, CaptureMode.NON_BLOCKING, time, time, time,
        List.of(m)), store.generation(), Duration.ofSeconds(30));
    return ChunkStore.key(id);
  }

  @Test
  void aCommitLocksEveryChunkBeforeTheManifest() throws Exception {
    String chunk = commit("c1", "one", Instant.parse("2026-01-01T00:00:00Z"));
    assertEquals(List.of(chunk, CheckpointStore.manifestKey("g", "c1")), backend.order);
  }

  @Test
  void retentionKeepsALockedCheckpointAndSaysUntilWhenThenDeletesItOnceReleased() throws Exception {
    String oldChunk = commit("c1", "one", Instant.parse("2026-01-01T00:00:00Z"));
    commit("c2", "two", Instant.parse("2026-01-02T00:00:00Z"));
    CheckpointRetention retention = new CheckpointRetention(store);
    RetentionPlan plan = retention.prune("g", Retention.builder().keepLast(1).build(), false);
    assertEquals(List.of("c1", "c2"), plan.kept());
    assertEquals(List.of("locked until " + UNTIL), plan.decisions().get(0).reasons());
    assertThrows(ObjectLockedException.class, () -> store.delete("g", "c1"));

    backend.locked.remove(CheckpointStore.manifestKey("g", "c1")); // the manifest's date passed
    assertEquals(List.of("c1"), retention.prune("g", Retention.builder().keepLast(1).build(), false).removed());
    CollectReport skipped = store.collect();
    assertEquals(0, skipped.deleted(), "c1's chunk is still locked: skipped, not an error");
    assertEquals(1, skipped.skippedLocked());
    assertEquals(Optional.of(UNTIL), skipped.lockedUntil());
    assertTrue(backend.exists(oldChunk));

    backend.locked.remove(oldChunk); // and the chunk's
    assertEquals(new CollectReport(true, 1, 0, Optional.empty()), store.collect());
    assertFalse(backend.exists(oldChunk));
    assertEquals(1, store.manifests("g").size());
  }
}
