package io.lencap.benchmarks;

import static io.lencap.benchmarks.Samples.add;

import com.github.luben.zstd.Zstd;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Store ingest: one file of mixed data (half random, half repetitive) captured into a fresh local store,
 * interleaved in one process with what bounds it on the same bytes: the JDK's SHA-256 (read + hash, one
 * thread), zstd level 1 through zstd-jni (read + compress in 256 KiB blocks, one thread) and a raw write of
 * the file into the store's file system (read + write + fsync). Each round runs all four; the figures are
 * min / median / max over the counted rounds, and each ratio is taken within its round. The first capture
 * in the JVM is reported apart (cold). Each round also restores its capture into an empty directory (read,
 * verify, decompress, write, sync), against SHA-256 and the raw write. Then 1 % of the file is rewritten and captured again (what dedup
 * saves). CPU time per byte is printed beside each rate: on a shared machine, wall time also measures the
 * neighbours. Never compared with {@code sha256sum}, which is several times slower than the JDK here.
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.StoreIngestBench
 * -Dexec.args="512 3"} (size in MiB, counted rounds; at least 3).
 */
public final class StoreIngestBench {
  private static final int BLOCK = 64 * 1024;
  private static final int READ = 1 << 20;
  private static final int ZSTD_BLOCK = 256 * 1024;

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 512;
    int rounds = Math.max(3, args.length > 1 ? Integer.parseInt(args[1]) : 3);
    Path work = Files.createTempDirectory("lencap-ingest-bench");
    Path tree = Files.createDirectories(work.resolve("tree"));
    Path file = tree.resolve("data.bin");
    try (MemoryPeaks peaks = MemoryPeaks.watch()) {
      writeMixed(file, mib << 20);
      jdkSha256(file); // page cache warm for every contender alike
      Encapsulation group = Encapsulation.builder("ingest")
          .resource(Resource.of("tree", ResourceType.FILE_TREE, tree.toUri().toString())).build();
      double cold = capture(work.resolve("store-cold"), group);
      Map<String, List<Double>> rates = new LinkedHashMap<>();
      Map<String, List<Double>> ratios = new LinkedHashMap<>();
      Map<String, List<Double>> cpu = new LinkedHashMap<>();
      for (int r = 0; r < rounds; r++) {
        long c0 = cpuNanos();
        double sha = mib / time(() -> jdkSha256(file));
        long c1 = cpuNanos();
        double zstd = mib / time(() -> zstd(file));
        long c2 = cpuNanos();
        double write = mib / time(() -> rawWrite(file, work.resolve("raw.bin")));
        long c3 = cpuNanos();
        Path store = work.resolve("store-" + r);
        double lencap = mib / capture(store, group);
        long c4 = cpuNanos();
        double restore = mib / restore(store, group, work.resolve("restored-" + r), file);
        long c5 = cpuNanos();
        add(cpu, "JDK SHA-256, 1 thread", (c1 - c0) / (double) (mib << 20));
        add(cpu, "zstd -1 (zstd-jni), 1 thread", (c2 - c1) / (double) (mib << 20));
        add(cpu, "raw write + fsync", (c3 - c2) / (double) (mib << 20));
        add(cpu, "Lencap capture (warm)", (c4 - c3) / (double) (mib << 20));
        add(cpu, "Lencap restore into an empty directory", (c5 - c4) / (double) (mib << 20));
        add(rates, "JDK SHA-256, 1 thread", sha);
        add(rates, "zstd -1 (zstd-jni), 1 thread", zstd);
        add(rates, "raw write + fsync", write);
        add(rates, "Lencap capture (warm)", lencap);
        add(rates, "Lencap restore into an empty directory", restore);
        add(ratios, "Lencap / JDK SHA-256", lencap / sha);
        add(ratios, "Lencap / zstd -1", lencap / zstd);
        add(ratios, "Lencap / raw write", lencap / write);
        add(ratios, "Lencap / min(SHA-256, zstd -1, raw write)", lencap / Math.min(sha, Math.min(zstd, write)));
        add(ratios, "restore / min(SHA-256, raw write)", restore / Math.min(sha, write));
      }
      System.out.printf("store ingest of %d MiB (half random, half repetitive), %d cores, %d interleaved rounds%n",
          mib, Runtime.getRuntime().availableProcessors(), rounds);
      System.out.printf("  %-44s %8s %8s %8s%n", "MiB/s", "min", "median", "max");
      rates.forEach((k, v) -> row(k, v, "%8.0f"));
      System.out.printf("  %-44s %8.0f (first capture in this JVM)%n", "Lencap capture (cold)", mib / cold);
      System.out.printf("  %-44s %8s %8s %8s%n", "CPU ns per byte (this process, all threads)", "min", "median",
          "max");
      cpu.forEach((k, v) -> row(k, v, "%8.2f"));
      System.out.printf("  %-44s %8s %8s %8s%n", "ratio, per round", "min", "median", "max");
      ratios.forEach((k, v) -> row(k, v, "%8.2f"));
      try (Lencap lencap = Lencap.builder().store(work.resolve("store-dedup")).build()) {
        Checkpoint first = lencap.capture(group).join();
        long changed = rewriteOnePercent(file);
        Checkpoint second = lencap.capture(group).join();
        System.out.printf("second capture after 1 %% change: stored %,d bytes of %,d changed (first stored %,d)%n",
            second.storedBytes(), changed, first.storedBytes());
      }
      System.out.println(peaks.describe() + ", over the whole run (the references' buffers included)");
    } finally {
      try (Stream<Path> s = Files.walk(work)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static double capture(Path store, Encapsulation group) throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      return time(() -> lencap.capture(group).join());
    }
  }

  /**
   * Restores the store's latest checkpoint of the group into an empty directory: every chunk read, verified (its
   * SHA-256), decompressed and written, then made durable. The bound is SHA-256 or the raw write, whichever is
   * slower (decompression is several times faster than both here). Checks the restored file's size.
   */
  static double restore(Path store, Encapsulation group, Path target, Path original) throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      String id = lencap.checkpoints(group.name()).join().get(0).id();
      Placement there = Placement.builder().move("tree", target.toUri()).build();
      double t = time(() -> lencap.restore(group, id, there).join());
      Path restored = target.resolve(original.getFileName());
      if (Files.size(restored) != Files.size(original)) {
        throw new IllegalStateException("restored " + Files.size(restored) + " bytes of " + Files.size(original));
      }
      try (Stream<Path> s = Files.walk(target)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      return t;
    }
  }

  private static void row(String name, List<Double> values, String format) {
    System.out.printf("  %-44s %s%n", name, Samples.spread(values, format));
  }

  interface Step {
    void run() throws Exception;
  }

  static double time(Step s) throws Exception {
    long t = System.nanoTime();
    s.run();
    return (System.nanoTime() - t) / 1e9;
  }

  static void writeMixed(Path file, long size) throws IOException {
    Random random = new Random(42);
    byte[] block = new byte[BLOCK];
    byte[] pattern = "lencap repetitive payload 0123456789 ".repeat(BLOCK / 37 + 1).substring(0, BLOCK).getBytes();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long off = 0; off < size; off += BLOCK) {
        if (off < size / 2) {
          random.nextBytes(block);
          ch.write(ByteBuffer.wrap(block));
        } else {
          ch.write(ByteBuffer.wrap(pattern));
        }
      }
      ch.force(true); // else the store's sync at commit would write the input file too
    }
  }

  /** Rewrites 1 % of the file's 64 KiB blocks, spread over the whole file; returns the bytes changed. */
  static long rewriteOnePercent(Path file) throws IOException {
    Random random = new Random(7);
    byte[] block = new byte[BLOCK];
    long blocks = Files.size(file) / BLOCK;
    long n = Math.max(1, blocks / 100);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      for (long i = 0; i < n; i++) {
        random.nextBytes(block);
        ch.write(ByteBuffer.wrap(block), (i * (blocks / n)) * BLOCK);
      }
      ch.force(true);
    }
    return n * BLOCK;
  }

  static void jdkSha256(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    ByteBuffer buf = ByteBuffer.allocate(READ);
    try (FileChannel in = FileChannel.open(file)) {
      while (in.read(buf.clear()) > 0) {
        md.update(buf.flip());
      }
    }
    md.digest();
  }

  static void zstd(Path file) throws Exception {
    byte[] block = new byte[ZSTD_BLOCK];
    byte[] packed = new byte[(int) Zstd.compressBound(ZSTD_BLOCK)];
    long out = 0;
    try (FileChannel in = FileChannel.open(file)) {
      for (int n; (n = in.read(ByteBuffer.wrap(block))) > 0; ) {
        out += Zstd.compressByteArray(packed, 0, packed.length, block, 0, n, 1);
      }
    }
    if (out <= 0) {
      throw new IllegalStateException("zstd wrote nothing");
    }
  }

  static void rawWrite(Path file, Path target) throws Exception {
    ByteBuffer buf = ByteBuffer.allocateDirect(READ);
    try (FileChannel in = FileChannel.open(file);
        FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      while (in.read(buf.clear()) > 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          out.write(buf);
        }
      }
      out.force(true);
    }
    Files.delete(target);
  }

  /** CPU time of this whole process: robust where wall time is not, on a machine shared with others. */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
