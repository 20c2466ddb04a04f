package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Retention;
import io.lencap.api.Secret;
import io.lencap.api.SyncReport;
import io.lencap.spi.BlobBackend;
import io.lencap.testing.FileVolumeProvider;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sync from a local store to the real Ceph RGW: incremental by chunk (counted), encrypted objects copied
 * as they are, a sync killed with SIGKILL mid-way completed by a rerun, and a sync while the source
 * captures, prunes and collects.
 */
class SyncS3IT {
  private static final String BUCKET = "lencap-it";
  private static final int CHUNK = 64 << 10;
  private static final int VOLUME_BYTES = 256 * CHUNK; // 16 MiB in 256 chunks
  private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
  private static CephCluster ceph;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  private Lencap open(URI store, boolean encrypted) {
    Lencap.Builder b = Lencap.builder().store(store);
    if ("s3".equals(store.getScheme())) {
      ceph.options().forEach(b::storeOption);
      ceph.secrets().forEach(b::storeSecret);
    }
    if (encrypted) {
      b.storeSecret("encryption.key", Secret.of(KEY));
    }
    return b.build();
  }

  private static URI newStore(String name) {
    return URI.create("s3://" + BUCKET + "/" + name + "-" + UUID.randomUUID());
  }

  private Encapsulation group(Path volume) {
    return Encapsulation.builder("g").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).property("chunkBytes", Integer.toString(CHUNK))
        .build()).build();
  }

  private static byte[] sha256(Path p) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
  }

  private Path volume(long seed) throws Exception {
    byte[] content = new byte[VOLUME_BYTES];
    new Random(seed).nextBytes(content);
    return Files.write(dir.resolve("vol"), content);
  }

  @Test
  void anEncryptedStoreSyncsIncrementallyToRgwAndRestoresFromIt() throws Exception {
    Path volume = volume(1);
    URI target = newStore("sync");
    try (Lencap source = open(dir.resolve("store").toUri(), true); Lencap rgw = open(target, false)) {
      source.capture(group(volume)).get(5, TimeUnit.MINUTES);
      long t0 = System.nanoTime();
      SyncReport first = source.sync("g", rgw).get(5, TimeUnit.MINUTES);
      long firstNanos = System.nanoTime() - t0;
      assertEquals(256, first.chunksSent());
      long rawNanos = rawPut(256, (int) (first.bytesSent() / 256));
      System.out.printf("sync to RGW: %.1f MB/s; a raw put of as many bytes in as many objects, as many at once:"
          + " %.1f MB/s (sync/raw %.2f)%n", first.bytesSent() / (firstNanos / 1e3),
          first.bytesSent() / (rawNanos / 1e3), (double) rawNanos / firstNanos);

      byte[] content = Files.readAllBytes(volume);
      for (int i = 0; i < 3; i++) { // 3 of 256 chunks, one 4 KiB block each: stored as 3 block deltas
        content[(i * 85 + 40) * CHUNK + 7] ^= 1;
      }
      Files.write(volume, content);
      Checkpoint second = source.capture(group(volume)).get(5, TimeUnit.MINUTES);
      SyncReport next = source.sync("g", rgw).get(5, TimeUnit.MINUTES);
      assertEquals(List.of(second.id()), next.copied());
      assertEquals(3, next.chunksSent());
      assertEquals(256, next.chunksPresent(), "253 unchanged chunks and the 3 bases of the deltas");
      double ratio = (double) next.bytesSent() / first.bytesSent();
      assertTrue(next.bytesSent() > 3 * 4096 && next.bytesSent() < 3 * (4096 + 512), "sent " + next.bytesSent()
          + " bytes for three changed 4 KiB blocks");
      System.out.printf("sync to RGW: first %d bytes in %d ms (%.1f MB/s); after 3 changed blocks %d bytes (%.3f%%)%n",
          first.bytesSent(), firstNanos / 1_000_000, first.bytesSent() / (firstNanos / 1e3), next.bytesSent(),
          100 * ratio);
    }
    // The copy restores with the key, and only with it.
    byte[] expected = sha256(volume);
    Files.write(volume, new byte[VOLUME_BYTES]);
    try (Lencap withKey = open(target, true)) {
      List<Checkpoint> copies = withKey.checkpoints("g").get(1, TimeUnit.MINUTES);
      assertEquals(2, copies.size());
      assertTrue(withKey.verify("g").get(5, TimeUnit.MINUTES).ok());
      withKey.restore(group(volume), copies.get(1).id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(expected, sha256(volume));
    }
  }

  /** Puts {@code count} random objects of {@code size} bytes, the backend's concurrency at once; the time taken. */
  private long rawPut(int count, int size) throws Exception {
    try (BlobBackend raw = new S3BackendProvider().open(newStore("raw-put"), ceph.options(), ceph.secrets())) {
      byte[] data = new byte[size];
      new Random(9).nextBytes(data);
      ExecutorService pool = Executors.newFixedThreadPool(raw.concurrency());
      try {
        long start = System.nanoTime();
        List<Future<?>> puts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          String key = "chunks/raw" + i;
          puts.add(pool.submit(() -> {
            raw.put(key, data);
            return null;
          }));
        }
        for (Future<?> f : puts) {
          f.get(5, TimeUnit.MINUTES);
        }
        return System.nanoTime() - start;
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void aSyncKilledMidWayIsCompletedByARerun() throws Exception {
    Path volume = volume(2);
    Path store = dir.resolve("store");
    Checkpoint cp;
    // A chunk per object (not packs of 64): the worker is killed after 100 of the 256 writes.
    try (Lencap source = Lencap.builder().store(store.toUri()).storeOption("packs", "false").build()) {
      cp = source.capture(group(volume)).get(5, TimeUnit.MINUTES);
    }
    URI target = newStore("sync-killed");
    String held = HeldS3BackendProvider.SCHEME + target.toString().substring("s3".length());
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-Dlencap.test.holdAfter=100", "-cp",
        System.getProperty("java.class.path"), SyncWorker.class.getName(), store.toString(), held, "g");
    pb.environment().putAll(ceph.childEnvironment());
    pb.redirectError(Path.of("target", "sync-worker.log").toFile());
    Process worker = pb.start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(worker.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.equals("@mid"));
      assertEquals("@mid", line, "the worker ended before it had sent 100 chunks (see target/sync-worker.log)");
      worker.destroyForcibly(); // SIGKILL
      assertTrue(worker.waitFor(1, TimeUnit.MINUTES));
    }

    try (Lencap source = open(store.toUri(), false); Lencap rgw = open(target, false)) {
      assertTrue(rgw.checkpoints("g").get(1, TimeUnit.MINUTES).isEmpty(), "a partial copy was committed");
      SyncReport rerun = source.sync("g", rgw).get(5, TimeUnit.MINUTES);
      assertEquals(List.of(cp.id()), rerun.copied());
      // 100 chunk writes had started when it was killed; some of the last of them may not have landed.
      assertTrue(rerun.chunksPresent() >= 50, "the rerun sent again what had arrived: " + rerun);
      assertEquals(256, rerun.chunksSent() + rerun.chunksPresent());
      assertTrue(rgw.verify("g").get(5, TimeUnit.MINUTES).ok());
      byte[] expected = sha256(volume);
      Files.write(volume, new byte[VOLUME_BYTES]);
      rgw.restore(group(volume), cp.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(expected, sha256(volume));
    }
  }

  /**
   * While a capture is half-way through its transfer, a sync copies the two committed checkpoints and,
   * at the same time, retention deletes the older one on the source and collects: whatever the
   * interleaving, every copy that arrives verifies, and the next sync brings the rest.
   */
  @Test
  void aSyncWhileTheSourceCapturesPrunesAndCollects() throws Exception {
    Path volume = volume(3);
    try (Lencap source = open(dir.resolve("store").toUri(), false); Lencap rgw = open(newStore("sync-busy"), false)) {
      Checkpoint a = source.capture(group(volume)).get(5, TimeUnit.MINUTES);
      volume(4);
      Checkpoint b = source.capture(group(volume)).get(5, TimeUnit.MINUTES);
      volume(5);
      CompletableFuture<SyncReport> sync = new CompletableFuture<>();
      FileVolumeProvider.MID_TRANSFER.put(volume.toString(), () -> {
        CompletableFuture<SyncReport> running = source.sync("g", rgw);
        source.prune("g", Retention.builder().keepLast(1).build(), false).join();
        running.whenComplete((r, e) -> {
          if (e != null) {
            sync.completeExceptionally(e);
          } else {
            sync.complete(r);
          }
        }).join();
      });
      Checkpoint c = source.capture(group(volume)).get(5, TimeUnit.MINUTES);
      SyncReport during = sync.get(5, TimeUnit.MINUTES);
      assertTrue(during.copied().contains(b.id()), during.toString());
      assertTrue(during.copied().contains(a.id()) || during.skipped().containsKey(a.id()), during.toString());
      assertEquals(List.of(c.id()), source.sync("g", rgw).get(5, TimeUnit.MINUTES).copied());
      List<String> copies = rgw.checkpoints("g").get(1, TimeUnit.MINUTES).stream().map(Checkpoint::id).toList();
      assertTrue(copies.containsAll(List.of(b.id(), c.id())), copies.toString());
      assertTrue(rgw.verify("g").get(5, TimeUnit.MINUTES).ok());
      byte[] expected = sha256(volume);
      Files.write(volume, new byte[VOLUME_BYTES]);
      rgw.restore(group(volume), c.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(expected, sha256(volume));
    } finally {
      FileVolumeProvider.MID_TRANSFER.clear();
    }
  }
}
