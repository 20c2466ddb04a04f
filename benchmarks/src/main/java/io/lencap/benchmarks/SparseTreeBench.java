package io.lencap.benchmarks;

import static io.lencap.benchmarks.Samples.add;
import static io.lencap.benchmarks.StoreIngestBench.jdkSha256;
import static io.lencap.benchmarks.StoreIngestBench.rawWrite;
import static io.lencap.benchmarks.StoreIngestBench.restore;
import static io.lencap.benchmarks.StoreIngestBench.time;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * A directory holding one sparse file (a VM image or a database file in a tree, not a VM's disk): LOGICAL MiB
 * long, DATA MiB of random bytes in 1 MiB extents spread evenly, holes between. Each round captures it into a
 * fresh local store and restores it into an empty directory, interleaved with what bounds that work: the JDK's
 * SHA-256 of the data bytes alone (a dense file of the same extents) and a raw write of them with fsync, of which a
 * capture and a restore each do both, and a read of the whole sparse file (what any reader pays that cannot ask
 * where the data is). The first capture in the JVM is reported apart (cold: the file's holes are not in the page
 * cache then, unless a reader put them there). Figures are min / median / max over the rounds; each ratio is taken
 * within its round, above 1 when Lencap is the faster.
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.SparseTreeBench
 * -Dexec.args="16384 512 3"} (logical MiB, data MiB, rounds; at least 3).
 */
public final class SparseTreeBench {
  private static final int EXTENT = 1 << 20;

  public static void main(String[] args) throws Exception {
    long logical = args.length > 0 ? Long.parseLong(args[0]) : 16384;
    long data = args.length > 1 ? Long.parseLong(args[1]) : 512;
    int rounds = Math.max(3, args.length > 2 ? Integer.parseInt(args[2]) : 3);
    if (data > logical) {
      throw new IllegalArgumentException("data " + data + " MiB exceeds the file's " + logical + " MiB");
    }
    Path work = Files.createTempDirectory("lencap-sparse-bench");
    Path tree = Files.createDirectories(work.resolve("tree"));
    Path file = tree.resolve("image.raw");
    Path dense = work.resolve("dense.bin");
    try (MemoryPeaks peaks = MemoryPeaks.watch()) {
      writeSparse(file, dense, logical, data);
      Encapsulation group = Encapsulation.builder("sparse")
          .resource(Resource.of("tree", ResourceType.FILE_TREE, tree.toUri().toString())).build();
      double cold = capture(work.resolve("store-cold"), group).seconds();
      Map<String, List<Double>> seconds = new LinkedHashMap<>();
      Map<String, List<Double>> ratios = new LinkedHashMap<>();
      long stored = 0;
      for (int r = 0; r < rounds; r++) {
        double sha = time(() -> jdkSha256(dense));
        double read = time(() -> readWhole(file));
        double write = time(() -> rawWrite(dense, work.resolve("raw.bin")));
        Path store = work.resolve("store-" + r);
        Captured c = capture(store, group);
        stored = c.stored();
        double restore = restore(store, group, work.resolve("restored-" + r), file);
        add(seconds, "JDK SHA-256 of the data bytes, 1 thread", sha);
        add(seconds, "read of the whole file, holes included", read);
        add(seconds, "raw write + fsync of the data bytes", write);
        add(seconds, "Lencap capture (warm)", c.seconds());
        add(seconds, "Lencap restore into an empty directory", restore);
        double bound = Math.max(sha, write); // the slower of the two, which a capture or a restore does both of
        add(ratios, "max(SHA-256, raw write) of the data / capture", bound / c.seconds());
        add(ratios, "read of the whole file / capture", read / c.seconds());
        add(ratios, "max(SHA-256, raw write) of the data / restore", bound / restore);
      }
      System.out.printf("a tree of one sparse file: %d MiB long, %d MiB of data in 1 MiB extents, %d cores, %d "
          + "interleaved rounds%n", logical, data, Runtime.getRuntime().availableProcessors(), rounds);
      System.out.printf("  %-48s %8s %8s %8s%n", "seconds", "min", "median", "max");
      seconds.forEach((k, v) -> System.out.printf("  %-48s %s%n", k, Samples.spread(v, "%8.2f")));
      System.out.printf("  %-48s %8.2f (first capture in this JVM)%n", "Lencap capture (cold)", cold);
      System.out.printf("  %-48s %8s %8s %8s%n", "ratio, per round (above 1: faster than it)", "min", "median",
          "max");
      ratios.forEach((k, v) -> System.out.printf("  %-48s %s%n", k, Samples.spread(v, "%8.2f")));
      System.out.printf("stored %,d bytes for %,d bytes of data%n", stored, data << 20);
      System.out.println(peaks.describe() + ", over the whole run (the references' buffers included)");
    } finally {
      try (Stream<Path> s = Files.walk(work)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private record Captured(double seconds, long stored) {}

  private static Captured capture(Path store, Encapsulation group) throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint[] done = new Checkpoint[1];
      double t = time(() -> done[0] = lencap.capture(group).join());
      return new Captured(t, done[0].storedBytes());
    }
  }

  /** The sparse file, and a dense file of the same extents back to back: both made durable. */
  private static void writeSparse(Path file, Path dense, long logicalMib, long dataMib) throws IOException {
    Random random = new Random(42);
    byte[] extent = new byte[EXTENT];
    long every = Math.max(1, logicalMib / Math.max(1, dataMib));
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING);
        FileChannel packed = FileChannel.open(dense, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long i = 0; i < dataMib; i++) {
        random.nextBytes(extent);
        out.write(ByteBuffer.wrap(extent), i * every * EXTENT);
        packed.write(ByteBuffer.wrap(extent));
      }
      out.truncate(logicalMib * EXTENT); // truncate never grows a file: extend it with one byte if needed
      if (out.size() < logicalMib * EXTENT) {
        out.write(ByteBuffer.wrap(new byte[1]), logicalMib * EXTENT - 1);
      }
      out.force(true);
      packed.force(true);
    }
  }

  private static void readWhole(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(EXTENT);
    try (FileChannel in = FileChannel.open(file)) {
      while (in.read(buf.clear()) > 0) {
        // read and dropped
      }
    }
  }
}
