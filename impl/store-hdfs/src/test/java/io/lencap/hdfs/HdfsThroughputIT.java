package io.lencap.hdfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.testing.FileVolumeProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Measures capture throughput into HDFS against HDFS's own raw writes of the same bytes, replication 3, and prints
 * them with their ratios: one file with an hsync at the end (the DataNodes sync only the last block: most bytes may
 * still be in their page cache when it returns); one file created with {@code SYNC_BLOCK} (every block synced on
 * every DataNode, the durability a store's commit needs); and files of a pack's size, {@code SYNC_BLOCK}, as many at
 * once as the store writes packs (the store's own layout, without hashing, compression or the store). Alternates
 * them for {@code -Dlencap.bench.rounds} rounds (1 in CI, which needs only that it works) and keeps the best of
 * each (the machine is shared). Incompressible data, a fresh store per capture (no dedup), with block devices'
 * default 256 KiB chunks and with 4 MiB chunks, all of them in packs.
 */
class HdfsThroughputIT {
  /** -Dlencap.bench.mib=256 for a figure to quote. */
  private static final int BYTES = Integer.getInteger("lencap.bench.mib", 32) << 20;
  private static final int ROUNDS = Integer.getInteger("lencap.bench.rounds", 1);
  /** A pack's size, and how many the store writes at once to HDFS (a quarter of its 16 requests in flight). */
  private static final int PACK = HdfsBackend.PACK_SIZE;
  private static final int PACKS_AT_ONCE = 4;
  private static MiniHdfs hdfs;

  @TempDir
  Path dir;

  @BeforeAll
  static void startHdfs() throws Exception {
    hdfs = new MiniHdfs("throughput-it");
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  @Test
  void captureVersusRawWrite() throws Exception {
    byte[] data = new byte[BYTES];
    new Random(7).nextBytes(data);
    Path volume = dir.resolve("volume");
    Files.write(volume, data);
    Encapsulation small = group(volume, 256 << 10);
    Encapsulation large = group(volume, 4 << 20);
    FileSystem fs = hdfs.cluster.getFileSystem();
    double raw = 0;
    double synced = 0;
    double inPacks = 0;
    double capture = 0;
    double captureLarge = 0;
    double[] second = {0, 0}; // the round with the fastest second capture: seconds of its first and second
    Path scattered = Files.copy(volume, dir.resolve("scattered"));
    for (int round = 0; round < ROUNDS; round++) {
      long t0 = System.nanoTime();
      try (FSDataOutputStream out = fs.create(new org.apache.hadoop.fs.Path("/raw/" + round), (short) 3)) {
        for (int off = 0; off < BYTES; off += 1 << 20) {
          out.write(data, off, Math.min(1 << 20, BYTES - off));
        }
        out.hsync();
      }
      raw = Math.max(raw, mibPerSecond(System.nanoTime() - t0));
      t0 = System.nanoTime();
      write(fs, "/synced/" + round, data, 0, BYTES);
      synced = Math.max(synced, mibPerSecond(System.nanoTime() - t0));
      t0 = System.nanoTime();
      writeInPacks(fs, "/packs/" + round + "/", data);
      inPacks = Math.max(inPacks, mibPerSecond(System.nanoTime() - t0));

      capture = Math.max(capture, capture(small, "bench-" + round));
      double[] twice = captureTwice(scattered, group(scattered, 256 << 10), "bench-twice-" + round);
      if (round == 0 || twice[1] < second[1]) {
        second = twice;
      }
      captureLarge = Math.max(captureLarge, capture(large, "bench-large-" + round));
    }
    String line = String.format(Locale.ROOT,
        "HDFS (MiniDFSCluster, 3 DataNodes, replication 3), %d MiB incompressible: raw FileSystem write %.0f MiB/s"
            + " (hsync at the end), %.0f MiB/s (SYNC_BLOCK), %.0f MiB/s (%d MiB files, SYNC_BLOCK, %d at once);"
            + " Lencap capture %.0f MiB/s with 256 KiB chunks (ratio %.2f, %.2f, %.2f), %.0f MiB/s with 4 MiB chunks"
            + " (ratio %.2f, %.2f, %.2f); after 1%% of the 4 KiB blocks rewritten at random, a second capture %.0f ms"
            + " against the first's %.0f ms (%.2f)",
        BYTES >> 20, raw, synced, inPacks, PACK >> 20, PACKS_AT_ONCE, capture, capture / raw, capture / synced,
        capture / inPacks, captureLarge, captureLarge / raw, captureLarge / synced, captureLarge / inPacks,
        second[1] * 1e3, second[0] * 1e3, second[1] / second[0]);
    System.out.println(line);
    Files.writeString(Path.of("target", "throughput-hdfs.txt"), line + "\n");
  }

  private static Encapsulation group(Path volume, int chunkBytes) {
    return Encapsulation.builder("bench").resource(Resource.builder("v").type(ResourceType.BLOCK_VOLUME)
        .locator(FileVolumeProvider.SCHEME + "://" + volume).property("chunkBytes", Integer.toString(chunkBytes))
        .build()).build();
  }

  /**
   * A capture into a fresh store, then 1% of the volume's 4 KiB blocks rewritten at random and a second capture:
   * seconds of each (the second stores about what changed, in block deltas).
   */
  private static double[] captureTwice(Path volume, Encapsulation group, String store) throws Exception {
    try (Lencap lencap = Lencap.builder().store(hdfs.uri(store)).storeOption("replication", "3").build()) {
      long t = System.nanoTime();
      lencap.capture(group).get(10, TimeUnit.MINUTES);
      double first = (System.nanoTime() - t) / 1e9;
      long written = FileVolumeProvider.rewriteScattered(volume, 1, store.hashCode());
      t = System.nanoTime();
      Checkpoint cp = lencap.capture(group).get(10, TimeUnit.MINUTES);
      double second = (System.nanoTime() - t) / 1e9;
      assertTrue(cp.storedBytes() < 3 * written, "stored " + cp.storedBytes() + " for " + written + " written");
      return new double[] {first, second};
    }
  }

  /** One capture into a fresh store; MiB/s. */
  private static double capture(Encapsulation group, String store) throws Exception {
    try (Lencap lencap = Lencap.builder().store(hdfs.uri(store)).storeOption("replication", "3").build()) {
      long t = System.nanoTime();
      Checkpoint cp = lencap.capture(group).get(10, TimeUnit.MINUTES);
      double speed = mibPerSecond(System.nanoTime() - t);
      assertEquals(BYTES, cp.logicalBytes());
      return speed;
    }
  }

  /** One file of {@code data[from, from + length)}, replication 3, each block synced on every DataNode at its end. */
  private static void write(FileSystem fs, String path, byte[] data, int from, int length) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
    try (FSDataOutputStream out = fs.create(p, FsPermission.getFileDefault(), EnumSet.of(CreateFlag.CREATE,
        CreateFlag.SYNC_BLOCK), 1 << 16, (short) 3, fs.getDefaultBlockSize(p), null)) {
      for (int off = from; off < from + length; off += 1 << 20) {
        out.write(data, off, Math.min(1 << 20, from + length - off));
      }
    }
  }

  /** The bytes as files of a pack's size, as many written at once as the store writes packs to HDFS. */
  private static void writeInPacks(FileSystem fs, String dir, byte[] data) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(PACKS_AT_ONCE);
    try {
      List<Future<?>> files = new ArrayList<>();
      for (int off = 0; off < data.length; off += PACK) {
        int from = off;
        files.add(pool.submit(() -> {
          write(fs, dir + from, data, from, Math.min(PACK, data.length - from));
          return null;
        }));
      }
      for (Future<?> f : files) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static double mibPerSecond(long nanos) {
    return (BYTES / 1048576.0) / (nanos / 1e9);
  }
}
