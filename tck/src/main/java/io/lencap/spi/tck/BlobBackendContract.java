package io.lencap.spi.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store backend TCK: what the checkpoint store relies on. Every backend (local directory, HDFS,
 * S3) extends it with a fresh, empty backend per test.
 */
public abstract class BlobBackendContract {
  protected BlobBackend backend;

  /** A new backend over an empty location. */
  protected abstract BlobBackend newBackend() throws Exception;

  @BeforeEach
  void open() throws Exception {
    backend = newBackend();
  }

  @AfterEach
  void close() throws Exception {
    backend.close();
  }

  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void putThenGetReturnsTheBytes() throws Exception {
    byte[] data = bytes(300_000, 1);
    backend.put("chunks/ab/abc", data);
    assertArrayEquals(data, backend.get("chunks/ab/abc").orElseThrow());
    assertTrue(backend.exists("chunks/ab/abc"));
  }

  @Test
  void getRangeReadsPartOfAnObject() throws Exception {
    byte[] data = bytes(300_000, 3);
    backend.put("packs/ab/abc", data);
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, 4096),
        backend.getRange("packs/ab/abc", 0, 4096).orElseThrow());
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 123_457, 123_457 + 70_001),
        backend.getRange("packs/ab/abc", 123_457, 70_001).orElseThrow());
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 299_000, 300_000),
        backend.getRange("packs/ab/abc", 299_000, 1000).orElseThrow(), "a range that ends where the object does");
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 299_990, 300_000),
        backend.getRange("packs/ab/abc", 299_990, 1000).orElseThrow(), "a range past the end");
    assertEquals(0, backend.getRange("packs/ab/abc", 300_000, 10).orElseThrow().length, "a range after the end");
    assertTrue(backend.getRange("packs/ab/none", 0, 10).isEmpty());
  }

  @Test
  void aMissingObjectIsEmptyNotAnError() throws Exception {
    assertTrue(backend.get("checkpoints/none/x").isEmpty());
    assertFalse(backend.exists("checkpoints/none/x"));
    backend.delete("checkpoints/none/x");
  }

  @Test
  void putReplacesWhole() throws Exception {
    backend.put("gc/generation", bytes(1000, 1));
    byte[] second = bytes(10, 2);
    backend.put("gc/generation", second);
    assertArrayEquals(second, backend.get("gc/generation").orElseThrow());
  }

  @Test
  void putIfAbsentCreatesOnce() throws Exception {
    assertTrue(backend.putIfAbsent("checkpoints/g/1", bytes(100, 1)));
    assertFalse(backend.putIfAbsent("checkpoints/g/1", bytes(100, 2)));
    assertArrayEquals(bytes(100, 1), backend.get("checkpoints/g/1").orElseThrow());
  }

  @Test
  void concurrentPutIfAbsentHasOneWinner() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Boolean>> racers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int seed = i;
        racers.add(() -> backend.putIfAbsent("checkpoints/race/1", bytes(5000, seed)));
      }
      int winners = 0;
      for (Future<Boolean> f : pool.invokeAll(racers)) {
        winners += f.get() ? 1 : 0;
      }
      assertEquals(1, winners);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void listFindsByPrefixWithSizesAndTimes() throws Exception {
    Instant before = Instant.now().minus(Duration.ofMinutes(5));
    backend.put("chunks/aa/aa1", bytes(10, 1));
    backend.put("chunks/ab/ab1", bytes(20, 2));
    backend.put("checkpoints/g/1", bytes(30, 3));
    Set<String> chunks = backend.list("chunks/").stream().map(BlobInfo::key).collect(Collectors.toSet());
    assertEquals(Set.of("chunks/aa/aa1", "chunks/ab/ab1"), chunks);
    BlobInfo cp = backend.list("checkpoints/g/").get(0);
    assertEquals("checkpoints/g/1", cp.key());
    assertEquals(30, cp.size());
    assertTrue(cp.lastModified().isAfter(before), "lastModified " + cp.lastModified());
    assertTrue(backend.list("journal/").isEmpty());
  }

  @Test
  void deleteRemoves() throws Exception {
    backend.put("journal/c1", bytes(10, 1));
    backend.delete("journal/c1");
    assertFalse(backend.exists("journal/c1"));
    assertTrue(backend.list("journal/").isEmpty());
  }

  @Test
  void flushKeepsEverything() throws Exception {
    backend.put("chunks/cc/cc1", bytes(10, 1));
    backend.flush();
    assertArrayEquals(bytes(10, 1), backend.get("chunks/cc/cc1").orElseThrow());
    assertFalse(backend.describe().isBlank());
  }
}
