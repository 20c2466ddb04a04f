package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.ChunkRef;
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
import java.util.Arrays;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

  /** How an entry's zeros reach the writer. */
  enum ZerosAs {
    /** {@link EntryWriter#zeros}, as a reader that knows where holes are calls it. */
    HOLES,
    /** Bytes of zeros in one write each. */
    BYTES,
    /** Bytes of zeros in writes of 64 KiB, smaller than a chunk, as a tree's reader hands them. */
    SMALL_WRITES
  }

  @ParameterizedTest(name = "{0} chunks, zeros as {1}")
  @CsvSource({"FIXED, HOLES", "FIXED, BYTES", "FIXED, SMALL_WRITES", "CONTENT_DEFINED, HOLES",
      "CONTENT_DEFINED, BYTES", "CONTENT_DEFINED, SMALL_WRITES"})
  void zerosMakeTheChunksTheirBytesWould(Chunking.Kind kind, ZerosAs as) throws Exception {
    Chunking chunking = kind == Chunking.Kind.FIXED ? Chunking.blocks() : Chunking.contentDefined();
    int max = chunking.max();
    byte[] data = new byte[max + 100];
    new Random(9).nextBytes(data);
    AtomicInteger puts = new AtomicInteger();
    BlobBackend counting = new ForwardingBackend(new LocalBackend(dir)) {
      @Override
      public boolean putIfAbsent(String key, byte[] bytes) throws IOException {
        boolean added = super.putIfAbsent(key, bytes);
        if (added && key.startsWith("chunks/")) {
          puts.incrementAndGet();
        }
        return added;
      }
    };
    CheckpointStore store = open(counting);
    StateWriter writer = new StateWriter(store, chunkPool, storePool, () -> {}, (done, total) -> {}, null,
        new ChunkPacks(store.chunks(), storePool), new RecentChunks());
    // zeros first, data ending off a boundary, zeros that finish its chunk then fill 20 whole ones and part of the
    // next, data, and zeros to the end
    long[] zeros = {max + 3, 3 * max / 2 + 20L * max, max + 7};
    try (EntryWriter w = writer.create("f", EntryKind.FILE, Map.of(), chunking)) {
      for (int i = 0; i < zeros.length; i++) {
        if (i > 0) {
          w.write(data, 0, data.length);
        }
        switch (as) {
          case HOLES -> w.zeros(zeros[i]);
          case BYTES -> w.write(new byte[(int) zeros[i]], 0, (int) zeros[i]);
          case SMALL_WRITES -> {
            byte[] piece = new byte[64 << 10];
            for (long left = zeros[i]; left > 0; left -= piece.length) {
              w.write(piece, 0, (int) Math.min(piece.length, left));
            }
          }
        }
        assertEquals(Arrays.stream(zeros).limit(i + 1).sum() + (long) i * data.length, w.size());
      }
    }
    // The reference: the same bytes cut by a chunker and named by the codec, one by one.
    List<ChunkRef> expected = new ArrayList<>();
    long[] at = {0};
    Chunker reference = new Chunker(chunking, framed -> {
      expected.add(new ChunkRef(ChunkCodec.plain().digest(framed, 1, framed.length - 1), at[0], framed.length - 1));
      at[0] += framed.length - 1;
    });
    for (int i = 0; i < zeros.length; i++) {
      if (i > 0) {
        reference.write(data, 0, data.length);
      }
      byte[] z = new byte[(int) zeros[i]];
      reference.write(z, 0, z.length);
    }
    reference.finish();
    StoredEntry f = writer.entries().iterator().next();
    assertEquals(expected, f.chunks(), "the same chunks at the same offsets with the same ids");
    assertEquals(2L * data.length + Arrays.stream(zeros).sum(), f.size());
    int packBelow = store.chunks().packBelow(); // smaller chunks share packs
    assertEquals(expected.stream().filter(c -> c.length() >= packBelow).map(ChunkRef::id).distinct().count(),
        puts.get(), "an object for each distinct chunk stored whole");
    int zero = Chunker.zeroChunkLength(chunking);
    ChunkRef named = f.chunks().stream().filter(c -> c.length() == zero && store.codec().isZero(c.id(), zero))
        .skip(5).findFirst().orElseThrow();
    assertArrayEquals(new byte[zero], store.chunks().readWhole(named.id(), null, zero).orElseThrow(),
        "a zero chunk named after the first reads as zeros");
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
