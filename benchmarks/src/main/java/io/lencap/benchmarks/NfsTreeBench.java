package io.lencap.benchmarks;

import static io.lencap.benchmarks.Samples.add;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.benchmarks.reference.Ganesha;
import io.lencap.benchmarks.reference.NfsReader;
import io.lencap.benchmarks.reference.NfsWriter;
import io.lencap.benchmarks.reference.Sh;
import io.lencap.benchmarks.reference.Workload;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The NFS tree of the reference group alone: an export of small files (1–8 KiB in 100 directories, 20,000 by
 * default) on a real NFS-Ganesha, captured by Lencap into a fresh local store and restored into an empty
 * directory of the export, interleaved in each round with its limits on the same bytes: {@code tar} of the
 * exported directory on the server's own disk into a file (no NFS), the fastest NFS client we can run here
 * ({@link NfsReader}: READDIRPLUS + READ, many calls in flight, bytes discarded), and {@code tar -x} of that
 * archive into an empty directory for the restore. Each round also captures and restores with the store option
 * {@code packs=false} (each chunk an object of its own, as before packs). Each ratio is a rate over a rate within its
 * round; the figures are min / median / max over the rounds. The first capture in the JVM is reported apart (cold).
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.NfsTreeBench
 * -Dexec.args="20000 3"} (files, rounds of at least 3; a third argument sets the member's {@code threads}).
 */
public final class NfsTreeBench {
  private static final int READER_THREADS = 8;
  /** As many calls in flight as the member's default {@code threads}, which its restore uses. */
  private static final int WRITER_THREADS = 16;

  private NfsTreeBench() {}

  public static void main(String[] args) throws Exception {
    int files = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int rounds = Math.max(3, args.length > 1 ? Integer.parseInt(args[1]) : 3);
    String threads = args.length > 2 ? args[2] : null;
    Path work = Files.createTempDirectory("lencap-nfs-tree-bench");
    try (Ganesha nfs = new Ganesha(work.resolve("ganesha"))) {
      Path tree = nfs.dir().resolve("tree");
      long bytes = Workload.makeTree(tree, files, 2);
      double mib = bytes / 1048576.0;
      Resource.Builder member = Resource.builder("export").type(ResourceType.FILE_TREE)
          .locator(nfs.locator() + "/tree");
      if (threads != null) {
        member.property("threads", threads);
      }
      Encapsulation group = Encapsulation.builder("nfs-tree").resource(member.build()).build();
      Workload.readAll(List.of(tree)); // page cache warm for every contender alike
      Path tar = work.resolve("tree.tar");
      double cold = capture(work.resolve("store-cold"), group).seconds;

      Map<String, List<Double>> rates = new LinkedHashMap<>();
      Map<String, List<Double>> ratios = new LinkedHashMap<>();
      for (int r = 0; r < rounds; r++) {
        double tarS = time(() -> Sh.run("tar", "-C", tree.toString(), "-cf", tar.toString(), "."));
        NfsReader reader = new NfsReader("127.0.0.1", nfs.dir().toString(), READER_THREADS);
        double nfsS = time(() -> reader.readAll("tree"));
        Captured c = capture(work.resolve("store-" + r), group);
        Path restored = Files.createDirectories(nfs.dir().resolve("restore-" + r));
        double restoreS = restore(work.resolve("store-" + r), group, c, nfs.locator() + "/restore-" + r, "true");
        Captured apart = capture(work.resolve("store-apart-" + r), group, "false");
        Path restoredApart = Files.createDirectories(nfs.dir().resolve("restore-apart-" + r));
        double restoreApartS = restore(work.resolve("store-apart-" + r), group, apart,
            nfs.locator() + "/restore-apart-" + r, "false");
        Path written = Files.createDirectories(nfs.dir().resolve("write-" + r));
        NfsWriter writer = new NfsWriter("127.0.0.1", nfs.dir().toString(), WRITER_THREADS);
        double writeS = time(() -> writer.writeAll(tree, written.getFileName().toString()));
        Path untarred = Files.createDirectories(nfs.dir().resolve("untar-" + r));
        double untarS = time(() -> Sh.run("tar", "-C", untarred.toString(), "-xf", tar.toString()));
        Sh.run("diff", "-r", "-q", tree.toString(), restored.toString()); // the restore is whole
        Sh.run("diff", "-r", "-q", tree.toString(), restoredApart.toString());
        Sh.run("diff", "-r", "-q", tree.toString(), written.toString());
        Workload.deleteTree(written);
        Workload.deleteTree(restored);
        Workload.deleteTree(restoredApart);
        Workload.deleteTree(work.resolve("store-apart-" + r));
        Workload.deleteTree(untarred);
        Workload.deleteTree(work.resolve("store-" + r));
        add(rates, "tar of the export on the server, into a file", mib / tarS);
        add(rates, "NFS client (nfs-client, " + READER_THREADS + " in flight, read only)", mib / nfsS);
        add(rates, "Lencap capture (warm, local store)", mib / c.seconds);
        add(rates, "tar -x on the server, into an empty directory", mib / untarS);
        add(rates, "NFS client (nfs-client, " + WRITER_THREADS + " in flight, create + write + setattr)", mib / writeS);
        add(rates, "Lencap restore into an empty directory", mib / restoreS);
        add(rates, "Lencap capture, a chunk per object (packs=false)", mib / apart.seconds);
        add(rates, "Lencap restore, a chunk per object (packs=false)", mib / restoreApartS);
        add(ratios, "capture / tar", tarS / c.seconds);
        add(ratios, "capture / NFS client", nfsS / c.seconds);
        add(ratios, "capture / min(tar, NFS client)", Math.max(tarS, nfsS) / c.seconds);
        add(ratios, "restore / tar -x", untarS / restoreS);
        add(ratios, "restore / NFS client write", writeS / restoreS);
        add(ratios, "capture: packs / a chunk per object", apart.seconds / c.seconds);
        add(ratios, "restore: packs / a chunk per object", restoreApartS / restoreS);
        System.err.printf("round %d: tar %.2f s, NFS client %.2f s, capture %.2f s, restore %.2f s, NFS write %.2f s,"
            + " untar %.2f s, a chunk per object: capture %.2f s, restore %.2f s%n", r + 1, tarS, nfsS, c.seconds,
            restoreS, writeS,
            untarS, apart.seconds, restoreApartS);
      }
      System.out.printf("NFS tree of %,d files, %.1f MiB (1-8 KiB in 100 directories), Ganesha on loopback, %d cores, "
          + "%d interleaved rounds, member threads %s%n", files, mib, Runtime.getRuntime().availableProcessors(),
          rounds, threads == null ? "default" : threads);
      System.out.printf("  %-56s %8s %8s %8s%n", "MiB/s", "min", "median", "max");
      rates.forEach((k, v) -> row(k, v));
      System.out.printf("  %-56s %8.1f (first capture in this JVM)%n", "Lencap capture (cold)", mib / cold);
      System.out.printf("  %-56s %8s %8s %8s%n", "ratio of rates, per round", "min", "median", "max");
      ratios.forEach((k, v) -> row(k, v));
    } finally {
      Workload.deleteTree(work);
    }
    System.exit(0); // nfs-client's Netty timer thread is not a daemon (the provider swaps it; NfsReader does not)
  }

  private record Captured(Checkpoint checkpoint, double seconds) {}

  private static Captured capture(Path store, Encapsulation group) throws Exception {
    return capture(store, group, "true");
  }

  private static Captured capture(Path store, Encapsulation group, String packs) throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).storeOption("packs", packs).build()) {
      long t0 = System.nanoTime();
      Checkpoint cp = lencap.capture(group).join();
      return new Captured(cp, (System.nanoTime() - t0) / 1e9);
    }
  }

  private static double restore(Path store, Encapsulation group, Captured c, String into, String packs)
      throws Exception {
    Placement elsewhere = Placement.builder().move("export", URI.create(into)).build();
    try (Lencap lencap = Lencap.builder().store(store).storeOption("packs", packs).build()) {
      return time(() -> lencap.restore(group, c.checkpoint.id(), elsewhere).join());
    }
  }

  private interface Step {
    void run() throws Exception;
  }

  private static double time(Step step) throws Exception {
    long t0 = System.nanoTime();
    step.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static void row(String name, List<Double> values) {
    List<Double> s = values.stream().sorted().toList();
    System.out.printf("  %-56s %8.2f %8.2f %8.2f%n", name, s.get(0), s.get(s.size() / 2), s.get(s.size() - 1));
  }
}
