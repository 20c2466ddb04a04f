package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Store limits: a bandwidth limit bounds the bytes per second of writes and reads (asserted from below on
 * the time taken: a slow machine only makes the rate lower), requests in flight never exceed theirs.
 */
class LimitedBackendTest {
  static final int LIMIT = 4_000_000; // bytes per second

  @TempDir
  Path dir;

  @Test
  void aBandwidthLimitHoldsOverATransfer() throws IOException {
    BlobBackend limited = LimitedBackend.wrap(new LocalBackend(dir), Map.of(LimitedBackend.BYTES_PER_SECOND,
        Integer.toString(LIMIT)));
    byte[] chunk = new byte[256 << 10];
    new Random(1).nextBytes(chunk);
    int chunks = 40; // 10.5 MB: 2.6 s at the limit
    long start = System.nanoTime();
    for (int i = 0; i < chunks; i++) {
      limited.put("chunks/w" + i, chunk);
    }
    for (int i = 0; i < chunks / 2; i++) {
      assertEquals(chunk.length, limited.get("chunks/w" + i).orElseThrow().length);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double rate = (chunks + chunks / 2) * (double) chunk.length / seconds;
    System.out.printf("limit %d B/s: %.0f B/s over %.1f s (%.3f of the limit)%n", LIMIT, rate, seconds, rate / LIMIT);
    assertTrue(rate <= LIMIT * 1.10, rate + " B/s under a limit of " + LIMIT);
  }

  @Test
  void requestsInFlightNeverExceedTheirLimit() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    Semaphore slow = new Semaphore(0);
    BlobBackend counting = new ForwardingBackend(new LocalBackend(dir)) {
      @Override
      public void put(String key, byte[] data) throws IOException {
        most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        slow.acquireUninterruptibly(); // held until the test has seen as many callers as the limit lets in
        super.put(key, data);
        inFlight.decrementAndGet();
      }
    };
    BlobBackend limited = LimitedBackend.wrap(counting, Map.of(LimitedBackend.REQUESTS, "3"));
    assertEquals(3, limited.concurrency());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String key = "chunks/r" + i;
        puts.add(CompletableFuture.runAsync(() -> {
          try {
            limited.put(key, new byte[16]);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, pool));
      }
      while (inFlight.get() < 3) {
        Thread.onSpinWait();
      }
      slow.release(8);
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
    } finally {
      pool.shutdownNow();
    }
    assertEquals(3, most.get());
  }

  @Test
  void noLimitsLeaveTheBackendAsItIsAndBadOnesNameTheOption() throws IOException {
    BlobBackend local = new LocalBackend(dir);
    assertSame(local, LimitedBackend.wrap(local, Map.of()));
    for (String bad : List.of("0", "-5", "fast", "1.5")) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class,
          () -> LimitedBackend.wrap(local, Map.of(LimitedBackend.BYTES_PER_SECOND, bad)));
      assertEquals("storeOptions.limit.bytesPerSecond", e.field());
    }
    assertEquals("storeOptions.limit.requests", assertThrows(InvalidSpecException.class,
        () -> LimitedBackend.wrap(local, Map.of(LimitedBackend.REQUESTS, "5000"))).field());
  }
}
