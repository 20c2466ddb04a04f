package io.lencap.nfs;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A plain benchmark against a real NFS-Ganesha (not a test; run its main with the test class path):
 * <ol>
 *   <li>final-pass pause of a non-blocking capture for trees of 1,000 / 10,000 / 50,000 small files, with the
 *       same small change made between the pre-copy and the cut, against the pause of a blocking copy;</li>
 *   <li>capture throughput of a 10,000-file mixed tree and of one large file, against libnfs's nfs-cp and a
 *       tar of the same tree;</li>
 *   <li>bytes a second capture stores after 1% of the files changed.</li>
 * </ol>
 * Arguments: tree sizes (default 1000 10000 50000).
 */
public final class NfsBenchmark {
  private NfsBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = new ArrayList<>();
    for (String a : args) {
      sizes.add(Integer.parseInt(a));
    }
    if (sizes.isEmpty()) {
      sizes = List.of(1_000, 10_000, 50_000);
    }
    Path tmp = Files.createTempDirectory("lencap-nfs-bench-");
    // Ganesha's own caching on, as in service; the benchmark changes trees through NFS only (NfsEdit).
    try (GaneshaServer server = new GaneshaServer("bench").serverCaching().start()) {
      System.out.println("## Pause: non-blocking final pass vs blocking copy (small files, 1 B - 8 KiB; "
          + "change = 10 files edited + 1 added between pre-copy and cut)");
      System.out.println("| files | tree MiB | NB first capture s | NB first pause ms | NB final-pass pause ms, median (min-max of 3) "
          + "| final pass changed | blocking full copy pause ms | blocking incremental pause ms |");
      System.out.println("|---|---|---|---|---|---|---|---|");
      for (int n : sizes) {
        pauseRow(server, tmp, n);
      }
      if (!Boolean.getBoolean("bench.pauseOnly")) {
        throughput(server, tmp);
      }
    } finally {
      GaneshaServer.deleteTree(tmp);
    }
    // No System.exit: the JVM must end by itself (nfs-client's Netty threads are daemons; see NettyThreads).
  }

  private static void pauseRow(GaneshaServer server, Path tmp, int n) throws Exception {
    Path root = Files.createDirectories(server.dir("bench").resolve("p" + n));
    TreeMaker maker = new TreeMaker(n).smallFiles().build(root, n);
    Resource nas = Resource.builder("nas").type(ResourceType.FILE_TREE)
        .locator(server.locator("bench") + "/p" + n).build();
    AtomicBoolean armed = new AtomicBoolean();
    Random r = new Random(1);
    NfsEdit edit = new NfsEdit(nas, root);
    Checkpoint first;
    Checkpoint second;
    try (Lencap lencap = Lencap.builder().store(tmp.resolve("nb" + n)).build()) {
      // Between the pre-copy (prepare) and the quiesce: the engine publishes PREPARE COMPLETED synchronously.
      lencap.addListener(e -> {
        if (e instanceof LencapEvent.PhaseChanged p && "nas".equals(p.memberId()) && p.phase() == Phase.PREPARE
            && p.status() == LencapEvent.Status.COMPLETED && armed.getAndSet(false)) {
          smallChange(maker, r, edit);
        }
      });
      Encapsulation job = Encapsulation.builder("nb").resource(nas).build();
      long t0 = System.nanoTime();
      first = lencap.capture(job).join();
      double firstSeconds = (System.nanoTime() - t0) / 1e9;
      List<Long> finalPauses = new ArrayList<>();
      second = null;
      for (int i = 0; i < 3; i++) { // the same small change each time, made between pre-copy and cut
        armed.set(true);
        second = lencap.capture(job).join();
        finalPauses.add(second.pause().toMillis());
      }
      finalPauses.sort(null);
      Checkpoint full;
      Checkpoint incremental;
      try (Lencap blocking = Lencap.builder().store(tmp.resolve("bl" + n)).build()) {
        Encapsulation bjob = Encapsulation.builder("bl").resource(nas)
            .policy(ResiliencyPolicy.builder().mode(CaptureMode.BLOCKING).pauseBudget(java.time.Duration.ofMinutes(10))
                .build()).build();
        full = blocking.capture(bjob).join();
        smallChange(maker, r, edit);
        incremental = blocking.capture(bjob).join();
      }
      MemberCheckpoint m2 = second.member("nas").orElseThrow();
      System.err.println(n + " files: " + m2.notes());
      System.out.printf("| %,d | %.0f | %.1f | %d | %d (%d-%d) | %s | %d | %d |%n", n, maker.bytes / 1048576.0,
          firstSeconds, first.pause().toMillis(), finalPauses.get(1), finalPauses.get(0), finalPauses.get(2),
          changed(m2), full.pause().toMillis(), incremental.pause().toMillis());
    }
    GaneshaServer.deleteTree(root);
  }

  private static String changed(MemberCheckpoint m) {
    for (String note : m.notes()) {
      int i = note.indexOf(" changed");
      if (note.startsWith("final pass") && i > 0) {
        return note.substring(note.lastIndexOf(',', i) + 2, i);
      }
    }
    return "?";
  }

  /** The same small change for every tree, through NFS: 10 files appended to, one file added. */
  private static void smallChange(TreeMaker maker, Random r, NfsEdit edit) {
    try {
      for (int i = 0; i < 10; i++) {
        edit.append(maker.files.get(r.nextInt(maker.files.size())), ("changed " + System.nanoTime()).getBytes());
      }
      edit.create(maker.dirs.get(0).resolve("added" + System.nanoTime()), new byte[4096]);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void throughput(GaneshaServer server, Path tmp) throws Exception {
    Path mix = Files.createDirectories(server.dir("bench").resolve("mix"));
    TreeMaker maker = new TreeMaker(3).build(mix, 10_000);
    double mib = maker.bytes / 1048576.0;
    String loc = server.locator("bench") + "/mix";
    Resource nas = Resource.builder("nas").type(ResourceType.FILE_TREE).locator(loc).build();
    System.out.printf("%n## Capture throughput: 10,000-file mixed tree, %.0f MiB%n", mib);
    System.out.println("| reader | s | MiB/s |");
    System.out.println("|---|---|---|");

    long t0 = System.nanoTime();
    MemoryState sink = new MemoryState(new MemoryState.Chunks(), "mem");
    try (ResourceDriver d = new NfsProvider().open(nas, null)) {
      CaptureContext ctx = new ResourceProviderContract.TckCaptureContext(nas, CaptureMode.BLOCKING, "mem",
          Optional.empty(), sink);
      d.prepare(ctx);
      d.transfer(d.cut(ctx), ctx);
    }
    row("lencap-nfs driver, 4 threads, into an in-memory sink (NFS walk + read only)", t0, mib);
    sink = null;
    Resource nas8 = nas.toBuilder().property("threads", "8").build();
    t0 = System.nanoTime();
    try (ResourceDriver d = new NfsProvider().open(nas8, null)) {
      CaptureContext ctx = new ResourceProviderContract.TckCaptureContext(nas8, CaptureMode.BLOCKING, "mem",
          Optional.empty(), new MemoryState(new MemoryState.Chunks(), "mem"));
      d.prepare(ctx);
      d.transfer(d.cut(ctx), ctx);
    }
    row("lencap-nfs driver, 8 threads, into an in-memory sink", t0, mib);

    Checkpoint first;
    try (Lencap lencap = Lencap.builder().store(tmp.resolve("mix")).build()) {
      Encapsulation job = Encapsulation.builder("mix").resource(nas).build();
      t0 = System.nanoTime();
      first = lencap.capture(job).join();
      row("lencap capture through the engine into a local store (chunk, hash, zstd, write)", t0, mib);

      t0 = System.nanoTime();
      List<String> files = new ArrayList<>();
      try (var s = Files.walk(mix)) {
        s.filter(Files::isRegularFile).forEach(p -> files.add(p.toString()));
      }
      run(List.of("bash", "-c", "cd " + mix + " && find . -type f -print0 | xargs -0 -P 4 -n 50 sh -c "
          + "'for f; do nfs-cat \"" + loc + "/${f#./}\" >/dev/null || exit 1; done' sh"));
      row("libnfs nfs-cat, one process per file, 4 in parallel (" + files.size() + " files)", t0, mib);

      t0 = System.nanoTime();
      run(List.of("bash", "-c", "tar -C " + mix + " -cf - . | cat > /dev/null"));
      row("tar of the same tree on the server's own disk (no NFS; reference)", t0, mib);

      // 1% of the files change (one byte each, through NFS): second capture's new bytes.
      Random r = new Random(5);
      List<Path> all = maker.files;
      NfsEdit edit = new NfsEdit(nas, mix);
      int changedFiles = all.size() / 100;
      long changedBytes = 0;
      for (int i = 0; i < changedFiles; i++) {
        Path f = all.get(r.nextInt(all.size()));
        long size = Files.size(f);
        edit.overwrite(f, size / 2, new byte[] {(byte) r.nextInt()});
        changedBytes += size;
      }
      t0 = System.nanoTime();
      Checkpoint second = lencap.capture(job).join();
      System.out.printf("%n## Second capture after 1%% of the files changed (%d files, %.1f MiB of them)%n",
          changedFiles, changedBytes / 1048576.0);
      System.out.printf("first capture stored %,d bytes; second stored %,d bytes (%.2f%% of the first) in %.2f s, "
          + "pause %d ms%n", first.storedBytes(), second.storedBytes(),
          100.0 * second.storedBytes() / first.storedBytes(), (System.nanoTime() - t0) / 1e9,
          second.pause().toMillis());
    }

    // One large file: streaming rate against a single nfs-cp.
    Path big = Files.createDirectories(server.dir("bench").resolve("big"));
    new TreeMaker(9).file(big.resolve("one.bin"), 512 << 20);
    Resource bigNas = Resource.builder("big").type(ResourceType.FILE_TREE).locator(server.locator("bench") + "/big")
        .build();
    System.out.println("\n## One 512 MiB file");
    System.out.println("| reader | s | MiB/s |");
    System.out.println("|---|---|---|");
    try (Lencap lencap = Lencap.builder().store(tmp.resolve("big")).build()) {
      t0 = System.nanoTime();
      lencap.capture(Encapsulation.builder("big").resource(bigNas).build()).join();
      row("lencap capture through the engine into a local store", t0, 512);
    }
    t0 = System.nanoTime();
    run(List.of("nfs-cp", server.locator("bench") + "/big/one.bin", "/dev/shm/lencap-nfscp-big"));
    row("libnfs nfs-cp to /dev/shm", t0, 512);
    Files.deleteIfExists(Path.of("/dev/shm/lencap-nfscp-big"));
  }

  private static void row(String what, long t0, double mib) {
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("| %s | %.2f | %.0f |%n", what, s, mib / s);
  }

  private static void run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException(cmd + " failed");
    }
  }
}
