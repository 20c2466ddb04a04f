package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What one member's writers hold in memory when a driver writes many entries at once. */
class StateWriterTest {
  private static final int CHUNK = 1 << 20;
  private static final int ENTRIES = 16;
  private static final int CHUNKS_EACH = 8; // 128 MiB in all: twice the member's bound

  @TempDir
  Path dir;

  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  final ExecutorService chunkPool = Executors.newFixedThreadPool(3);
  final ExecutorService storePool = Executors.newFixedThreadPool(ENTRIES * CHUNKS_EACH); // never the limit here
  final ExecutorService drivers = Executors.newFixedThreadPool(ENTRIES);

  @AfterEach
  void stop() {
    List.of(timer, chunkPool, storePool, drivers).forEach(ExecutorService::shutdownNow);
  }

  @Test
  void entriesWrittenAtOnceShareOneBoundOnTheBytesInFlight() throws Exception {
    int fit = StateWriter.MEMBER_IN_FLIGHT_BYTES / (CHUNK + 1); // each chunk weighs its bytes and a format byte
    CountDownLatch open = new CountDownLatch(1);
    CountDownLatch full = new CountDownLatch(fit);
    AtomicInteger held = new AtomicInteger();
    BlobBackend gate = new ForwardingBackend(new LocalBackend(dir)) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws IOException {
        if (key.startsWith("chunks/")) { // held at the store until the test opens it
          held.incrementAndGet();
          full.countDown();
          await(open);
        }
        return super.putIfAbsent(key, data);
      }
    };
    CheckpointStore store = open(gate);
    StateWriter writer = new StateWriter(store, chunkPool, storePool, () -> {}, (done, total) -> {}, null,
        new ChunkPacks(store.chunks(), storePool), new RecentChunks());
    byte[][] contents = new byte[ENTRIES][];
    List<Future<?>> writes = new ArrayList<>();
    for (int i = 0; i < ENTRIES; i++) {
      byte[] content = new byte[CHUNK * CHUNKS_EACH];
      new Random(i).nextBytes(content);
      contents[i] = content;
      String path = "entry-" + i;
      writes.add(drivers.submit(() -> {
        try (EntryWriter w = writer.create(path, EntryKind.FILE, Map.of(), Chunking.fixed(CHUNK))) {
          for (int off = 0; off < content.length; off += CHUNK) {
            w.write(content, off, CHUNK);
          }
        }
        return null;
      }));
    }
    await(full);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (writer.waitingForRoom() == 0) { // a writer parks on the bound: nothing more can be in flight
      assertTrue(System.nanoTime() < deadline, "no writer waits for room with " + held + " chunks at the store");
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    assertEquals(fit, held.get(), "chunks in flight at once (" + ENTRIES * CHUNKS_EACH + " were ready)");

    open.countDown();
    for (Future<?> f : writes) {
      f.get(60, TimeUnit.SECONDS);
    }
    assertEquals(ENTRIES * CHUNKS_EACH, held.get());
    List<StoredEntry> entries = writer.entries();
    assertEquals(ENTRIES, entries.size());
    for (StoredEntry e : entries) {
      byte[] content = contents[Integer.parseInt(e.path().substring("entry-".length()))];
      assertEquals(content.length, e.size());
      assertEquals(CHUNKS_EACH, e.chunks().size());
      byte[] last = new byte[CHUNK];
      System.arraycopy(content, content.length - CHUNK, last, 0, CHUNK);
      assertArrayEquals(last, open(gate).chunks().readWhole(e.chunks().get(CHUNKS_EACH - 1).id(), null, CHUNK).orElseThrow());
    }
  }

  @Test
  void zerosMakeTheEntryTheirBytesWould() throws Exception {
    int chunk = Chunking.DEFAULT_BLOCK_SIZE; // stored whole, not packed
    byte[] data = new byte[chunk + 100];
    new Random(9).nextBytes(data);
    AtomicInteger zeroPuts = new AtomicInteger();
    BlobBackend counting = new ForwardingBackend(new LocalBackend(dir)) {
      @Override
      public boolean putIfAbsent(String key, byte[] bytes) throws IOException {
        boolean added = super.putIfAbsent(key, bytes);
        if (added && key.startsWith("chunks/")) {
          zeroPuts.incrementAndGet();
        }
        return added;
      }
    };
    CheckpointStore store = open(counting);
    StateWriter writer = new StateWriter(store, chunkPool, storePool, () -> {}, (done, total) -> {}, null,
        new ChunkPacks(store.chunks(), storePool), new RecentChunks());
    // data ending off a boundary, zeros that finish its chunk then fill 20 whole ones and part of the next, data, and
    // zeros to the end: the same bytes as the second entry, written as bytes
    long[] zeros = {3 * chunk / 2 + 20L * chunk, chunk + 7};
    try (EntryWriter w = writer.create("holes", EntryKind.FILE, Map.of(), Chunking.fixed(chunk))) {
      w.write(data, 0, data.length);
      w.zeros(zeros[0]);
      w.write(data, 0, data.length);
      w.zeros(zeros[1]);
    }
    int stored = zeroPuts.get();
    try (EntryWriter w = writer.create("bytes", EntryKind.FILE, Map.of(), Chunking.fixed(chunk))) {
      w.write(data, 0, data.length);
      w.write(new byte[(int) zeros[0]], 0, (int) zeros[0]);
      w.write(data, 0, data.length);
      w.write(new byte[(int) zeros[1]], 0, (int) zeros[1]);
    }
    Map<String, StoredEntry> entries = new java.util.HashMap<>();
    writer.entries().forEach(e -> entries.put(e.path(), e));
    assertEquals(entries.get("bytes").chunks(), entries.get("holes").chunks(), "the same chunks at the same offsets");
    assertEquals(2 * data.length + zeros[0] + zeros[1], entries.get("holes").size());
    assertEquals(stored, zeroPuts.get(), "the second entry's chunks were all stored by the first");
    assertEquals(entries.get("holes").chunks().stream().map(c -> c.id()).distinct().count(), stored,
        "an object for each distinct chunk");
    byte[] whole = new byte[chunk];
    assertArrayEquals(whole, store.chunks().readWhole(entries.get("holes").chunks().get(10).id(), null, chunk)
        .orElseThrow(), "a zero chunk named after the first reads as zeros");
  }

  private CheckpointStore open(BlobBackend backend) {
    RecordSeal seal = RecordSeal.withKey(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    JournalRecord.Owner owner = new JournalRecord.Owner("h", ProcessHandle.current().pid(), Instant.EPOCH);
    return new CheckpointStore(backend, ChunkCodec.plain(), seal,
        new Leases(backend, seal, owner, Duration.ofSeconds(30), timer), Duration.ZERO);
  }

  private static void await(CountDownLatch l) {
    try {
      assertTrue(l.await(60, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
