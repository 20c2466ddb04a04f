package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.ResourceType;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A capture that deduplicates against a garbage chunk must never commit a checkpoint that lacks it. */
class CollectionRaceTest {
  @TempDir
  Path dir;

  CheckpointStore store;
  final byte[] data = "content that an old, deleted checkpoint once held".getBytes();
  String id;

  @BeforeEach
  void garbageChunk() throws Exception {
    store = new CheckpointStore(new LocalBackend(dir), ChunkCodec.plain(), Clock.systemUTC(), Duration.ZERO);
    id = store.codec().id(data, 0, data.length);
    assertTrue(store.putChunk(id, data) > 0);
    // Unreferenced and old: what retention leaves for the next collection.
    Files.setLastModifiedTime(dir.resolve(CheckpointStore.chunkKey(id)),
        FileTime.from(Instant.now().minus(Duration.ofHours(1))));
  }

  Manifest manifest(String cp) {
    StoredEntry e = new StoredEntry("data", EntryKind.FILE, data.length, Map.of(), List.of(new ChunkRef(id, 0, data.length)));
    Manifest.Member m = new Manifest.Member("m", ResourceType.BLOCK_VOLUME, "mem://d", Map.of(), "memory", 0, data.length, 0,
        "x", List.of(), Map.of(), List.of(e));
    Instant now = Instant.now();
    return new Manifest(Manifest.FORMAT, cp, "g", null, CaptureMode.NON_BLOCKING, now, now, now, List.of(m));
  }

  JournalRecord record(String cp) {
    return new JournalRecord(cp, "g", new JournalRecord.Owner("h", 1, Instant.EPOCH), Instant.now(), List.of());
  }

  @Test
  void aCollectionBeforeTheReuseIsRecordedIsCaughtAtCommit() throws Exception {
    String generation = store.generation();
    assertEquals(0, store.putChunk(id, data), "the capture deduplicates against the garbage chunk");
    JournalRecord r = record("c1");
    store.record(r);
    assertEquals(1, store.collect(), "the collection takes the garbage chunk: nothing names it yet");
    store.record(r.withReused(Set.of(id)));
    CaptureAbortedException e = assertThrows(CaptureAbortedException.class,
        () -> store.commit(manifest("c1"), generation, Set.of(id)));
    assertTrue(e.getMessage().contains(id), e.getMessage());
    assertTrue(store.manifests("g").isEmpty(), "no checkpoint that names a missing chunk");
  }

  @Test
  void aCollectionAfterTheReuseIsRecordedSparesTheChunk() throws Exception {
    String generation = store.generation();
    assertEquals(0, store.putChunk(id, data));
    store.record(record("c1").withReused(Set.of(id)));
    assertEquals(0, store.collect(), "the journal names the reused chunk");
    store.commit(manifest("c1"), generation, Set.of(id));
    store.forget("c1");
    assertEquals(1, store.manifests("g").size());
    assertTrue(store.verify("g").ok());
  }
}
