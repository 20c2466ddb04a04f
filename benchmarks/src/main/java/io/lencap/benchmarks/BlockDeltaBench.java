package io.lencap.benchmarks;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.testing.FileVolumeProvider;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * What a scattered 4 KiB write costs in the store, with block deltas ({@code lencap.store.deltas}, the default)
 * and without, in one run. Part 1: a volume file of random bytes (a LUN's or disk's content as the fixed-chunk
 * path sees it, without the transport) captured, 1% of its 4 KiB blocks rewritten at random, captured again,
 * and the second checkpoint restored and compared; the modes interleave within each round, and each on/off ratio
 * is taken within its round. Part 2, synthetic memory images: a raw page dump (zero, random and repetitive 4 KiB
 * pages) and a second dump with a given share of its pages rewritten at random, captured with today's
 * content-defined chunks and with fixed page-aligned chunks with and without deltas.
 *
 * <p>Run: {@code java -cp benchmarks/target/classes:CLASSPATH io.lencap.benchmarks.BlockDeltaBench 256 3} (MiB,
 * rounds; at least 3).
 */
public final class BlockDeltaBench {
  private static final String SWITCH = "lencap.store.deltas";

  record Run(double firstS, double secondS, long stored, double restoreS) {}

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 256;
    int rounds = Math.max(3, args.length > 1 ? Integer.parseInt(args[1]) : 3);
    long size = mib << 20;
    Path work = Files.createTempDirectory("lencap-delta-bench");
    try {
      volumes(work, size, rounds);
      memory(work, size, rounds);
    } finally {
      System.clearProperty(SWITCH);
      delete(work);
    }
  }

  private static void volumes(Path work, long size, int rounds) throws Exception {
    System.out.printf("Part 1: volume of %d MiB of random bytes, fixed 256 KiB chunks, 1%% of its 4 KiB blocks"
        + " rewritten at random; %d rounds, deltas on and off interleaved%n", size >> 20, rounds);
    Map<Boolean, List<Run>> runs = new LinkedHashMap<>();
    runs.put(true, new ArrayList<>());
    runs.put(false, new ArrayList<>());
    List<double[]> ratios = new ArrayList<>();
    long changed = 0;
    for (int round = 0; round < rounds; round++) {
      Run[] pair = new Run[2];
      for (int i = 0; i < 2; i++) {
        boolean deltas = (round + i) % 2 == 0; // alternate which mode goes first
        Path image = work.resolve("volume.img");
        fill(image, size, 100 + round);
        changed = 0;
        System.setProperty(SWITCH, Boolean.toString(deltas));
        Resource volume = Resource.builder("vol").type("block")
            .locator(FileVolumeProvider.SCHEME + "://" + image).build();
        Encapsulation job = Encapsulation.builder("delta-bench").resource(volume).build();
        Path store = work.resolve("store");
        try (Lencap lencap = Lencap.builder().store(store).build()) {
          long t = System.nanoTime();
          lencap.capture(job).join();
          double first = (System.nanoTime() - t) / 1e9;
          changed = rewritePages(image, size, 0.01, 200 + round, false);
          String atCut = sha256(image);
          t = System.nanoTime();
          Checkpoint second = lencap.capture(job).join();
          double secondS = (System.nanoTime() - t) / 1e9;
          fill(image, size, 999);
          t = System.nanoTime();
          lencap.restore(job, second.id()).join();
          double restore = (System.nanoTime() - t) / 1e9;
          if (!atCut.equals(sha256(image))) {
            throw new IllegalStateException("restore differs from the cut (deltas " + deltas + ")");
          }
          Run run = new Run(first, secondS, second.storedBytes(), restore);
          runs.get(deltas).add(run);
          pair[deltas ? 0 : 1] = run;
        }
        delete(store);
      }
      ratios.add(new double[] {(double) pair[0].stored() / pair[1].stored(), pair[0].secondS() / pair[1].secondS(),
          pair[0].restoreS() / pair[1].restoreS(), pair[0].firstS() / pair[1].firstS()});
    }
    System.out.printf("changed: %d bytes (%.2f%% of the volume)%n", changed, 100.0 * changed / size);
    System.out.println("| deltas | 2nd capture stored (% of volume) | 2nd capture wall s | restore of 2nd wall s "
        + "| 1st capture wall s |");
    System.out.println("|---|---|---|---|---|");
    for (Map.Entry<Boolean, List<Run>> e : runs.entrySet()) {
      List<Run> r = e.getValue();
      System.out.printf("| %s | %s | %s | %s | %s |%n", e.getKey() ? "on" : "off",
          stats(r.stream().mapToDouble(x -> 100.0 * x.stored() / size).toArray(), "%.2f%%"),
          stats(r.stream().mapToDouble(Run::secondS).toArray(), "%.2f"),
          stats(r.stream().mapToDouble(Run::restoreS).toArray(), "%.2f"),
          stats(r.stream().mapToDouble(Run::firstS).toArray(), "%.2f"));
    }
    System.out.printf("ratios on/off within a round (min / median / max): stored %s, 2nd capture wall %s, restore"
        + " wall %s, 1st capture wall %s%n", stats(ratios.stream().mapToDouble(x -> x[0]).toArray(), "%.3f"),
        stats(ratios.stream().mapToDouble(x -> x[1]).toArray(), "%.2f"),
        stats(ratios.stream().mapToDouble(x -> x[2]).toArray(), "%.2f"),
        stats(ratios.stream().mapToDouble(x -> x[3]).toArray(), "%.2f"));
  }

  record Layout(String name, String chunking, int bytes, boolean deltas) {}

  private static void memory(Path work, long size, int rounds) throws Exception {
    List<Layout> layouts = List.of(new Layout("content-defined 256 KiB avg (today)", "content", 256 << 10, true),
        new Layout("content-defined 64 KiB avg", "content", 64 << 10, true),
        new Layout("fixed 256 KiB, no deltas", "fixed", 256 << 10, false),
        new Layout("fixed 256 KiB + deltas", "fixed", 256 << 10, true));
    for (double share : new double[] {0.01, 0.05}) {
      System.out.printf("%nPart 2 (synthetic): raw page dump of %d MiB (1/3 zero, 1/3 random, 1/3 repetitive"
          + " pages), then %.0f%% of its 4 KiB pages rewritten at random (half with random bytes, half zeroed or"
          + " repetitive); %d rounds%n", size >> 20, share * 100, rounds);
      System.out.println("| chunking | 1st image stored MiB | 2nd image stored (% of image) | 2nd capture wall s |");
      System.out.println("|---|---|---|---|");
      Map<Layout, List<double[]>> results = new LinkedHashMap<>();
      for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < layouts.size(); i++) {
          Layout l = layouts.get((i + round) % layouts.size());
          Path image = work.resolve("memory.img");
          pages(image, size, 300 + round);
          System.setProperty(SWITCH, Boolean.toString(l.deltas()));
          Resource mem = Resource.builder("mem").type("block").locator(FileVolumeProvider.SCHEME + "://" + image)
              .property("chunking", l.chunking()).property("chunkBytes", Integer.toString(l.bytes())).build();
          Encapsulation job = Encapsulation.builder("memory-bench").resource(mem).build();
          Path store = work.resolve("store");
          try (Lencap lencap = Lencap.builder().store(store).build()) {
            Checkpoint first = lencap.capture(job).join();
            rewritePages(image, size, share, 400 + round, true);
            long t = System.nanoTime();
            Checkpoint second = lencap.capture(job).join();
            double secondS = (System.nanoTime() - t) / 1e9;
            results.computeIfAbsent(l, k -> new ArrayList<>()).add(new double[] {first.storedBytes() / 1048576.0,
                100.0 * second.storedBytes() / size, secondS});
          }
          delete(store);
        }
      }
      for (Layout l : layouts) {
        List<double[]> r = results.get(l);
        System.out.printf("| %s | %s | %s | %s |%n", l.name(), stats(r.stream().mapToDouble(x -> x[0]).toArray(),
            "%.1f"), stats(r.stream().mapToDouble(x -> x[1]).toArray(), "%.2f%%"),
            stats(r.stream().mapToDouble(x -> x[2]).toArray(), "%.2f"));
      }
    }
  }

  private static String stats(double[] values, String format) {
    double[] v = values.clone();
    Arrays.sort(v);
    return String.format(format + " / " + format + " / " + format, v[0], v[v.length / 2], v[v.length - 1]);
  }

  private static void fill(Path image, long size, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] block = new byte[1 << 20];
    try (var out = Files.newOutputStream(image)) {
      for (long done = 0; done < size; done += block.length) {
        random.nextBytes(block);
        out.write(block);
      }
    }
  }

  /** A raw page dump: each 4 KiB page zero, random or repetitive text, by thirds at random. */
  private static void pages(Path image, long size, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] out = new byte[1 << 20];
    try (var o = Files.newOutputStream(image)) {
      for (long done = 0; done < size; done += out.length) {
        for (int p = 0; p < out.length; p += 4096) {
          page(random, out, p);
        }
        o.write(out);
      }
    }
  }

  private static void page(Random random, byte[] out, int at) {
    int kind = random.nextInt(3);
    if (kind == 0) {
      Arrays.fill(out, at, at + 4096, (byte) 0);
    } else if (kind == 1) {
      byte[] r = new byte[4096];
      random.nextBytes(r);
      System.arraycopy(r, 0, out, at, 4096);
    } else {
      byte[] line = ("pid " + random.nextInt(1000) + " counter " + random.nextInt() + " state=running\n").getBytes();
      for (int i = 0; i < 4096; i++) {
        out[at + i] = line[i % line.length];
      }
    }
  }

  /**
   * Rewrites {@code share} of the image's 4 KiB pages, chosen at random: with random bytes, or (with
   * {@code mixed}) half of them as a memory page changes (random, zero or repetitive). Returns bytes changed.
   */
  private static long rewritePages(Path image, long size, double share, long seed, boolean mixed) throws IOException {
    Random random = new Random(seed);
    long pages = size / 4096;
    long count = (long) (pages * share);
    byte[] page = new byte[4096];
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      for (long i = 0; i < count; i++) {
        if (mixed && random.nextBoolean()) {
          page(random, page, 0);
        } else {
          random.nextBytes(page);
        }
        f.seek((long) (random.nextDouble() * pages) * 4096);
        f.write(page);
      }
    }
    return count * 4096;
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 20];
    try (var in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void delete(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
