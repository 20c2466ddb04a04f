package io.lencap.benchmarks;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Store ingest: one file of mixed data (half random, half repetitive) captured into the local store,
 * against {@code sha256sum} and the JDK's raw SHA-256 of the same file in the same run; then 1 % of the
 * file rewritten and captured again (what dedup saves).
 * Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.StoreIngestBench -Dexec.args=1024}
 * (size in MiB).
 */
public final class StoreIngestBench {
  private static final int BLOCK = 64 * 1024;

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 1024;
    Path work = Files.createTempDirectory("lencap-ingest-bench");
    Path tree = Files.createDirectories(work.resolve("tree"));
    Path file = tree.resolve("data.bin");
    try {
      writeMixed(file, mib * 1024 * 1024);
      dropCaches(file);
      double sha256sum = time(() -> run("sha256sum", file.toString()));
      double jdk = time(() -> jdkSha256(file));
      Encapsulation group = Encapsulation.builder("ingest")
          .resource(Resource.of("tree", ResourceType.FILE_TREE, tree.toUri().toString())).build();
      try (Lencap lencap = Lencap.builder().store(work.resolve("store")).build()) {
        long t0 = System.nanoTime();
        Checkpoint first = lencap.capture(group).join();
        double capture = (System.nanoTime() - t0) / 1e9;
        long changed = rewriteOnePercent(file);
        long t1 = System.nanoTime();
        Checkpoint second = lencap.capture(group).join();
        double recapture = (System.nanoTime() - t1) / 1e9;
        double gib = mib / 1024.0;
        System.out.printf("store ingest of %d MiB (half random, half repetitive), %d cores%n", mib,
            Runtime.getRuntime().availableProcessors());
        System.out.printf("  %-34s %8.2f s %8.0f MiB/s%n", "sha256sum", sha256sum, mib / sha256sum);
        System.out.printf("  %-34s %8.2f s %8.0f MiB/s%n", "JDK SHA-256 (read + hash)", jdk, mib / jdk);
        System.out.printf("  %-34s %8.2f s %8.0f MiB/s  stored %,d bytes (%.1f %% of logical)%n",
            "Lencap first capture", capture, mib / capture, first.storedBytes(),
            100.0 * first.storedBytes() / first.logicalBytes());
        System.out.printf("  %-34s %8.2f s %8.0f MiB/s  stored %,d bytes%n", "Lencap capture after 1 % change",
            recapture, mib / recapture, second.storedBytes());
        System.out.printf("ratio Lencap capture / sha256sum throughput: %.2f%n", sha256sum / capture);
        System.out.printf("ratio Lencap capture / JDK SHA-256 throughput: %.2f%n", jdk / capture);
        System.out.printf("ratio second capture stored / first stored: %.4f (changed %,d bytes = %.2f %% of %,.0f GiB)%n",
            (double) second.storedBytes() / first.storedBytes(), changed, 100.0 * changed / (mib << 20), gib);
      }
    } finally {
      try (Stream<Path> s = Files.walk(work)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
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
    }
    return n * BLOCK;
  }

  static void jdkSha256(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    md.digest();
  }

  static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed");
    }
  }

  /** Reads the file once so that every contender reads it from the page cache alike. */
  static void dropCaches(Path file) throws Exception {
    jdkSha256(file);
  }
}
