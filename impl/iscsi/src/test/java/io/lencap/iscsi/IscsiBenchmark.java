package io.lencap.iscsi;

import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plain benchmark (not a test): capture throughput against libiscsi's raw read of the same istgt LUN, and
 * differential restore after a 1% change against a full restore. Run:
 * {@code mvn -o -pl impl/iscsi test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.lencap.iscsi.IscsiBenchmark}
 * (or plain {@code java -cp}); {@code -Dmib=512} sets the LUN size, {@code -Dpasses=3} the warm passes per figure.
 */
public final class IscsiBenchmark {

  /** Warm passes per figure; their median is printed. */
  static final int PASSES = Integer.getInteger("passes", 3);

  /** One timed stream over the whole LUN: MB/s, and CPU seconds per GB of this thread and of istgt. */
  record Pass(double mbps, double ourCpu, double istgtCpu) {
    static Pass run(IscsiSession s, long bytes, long istgtPid, IscsiSession.BlockSink sink) throws Exception {
      return time(bytes, istgtPid, () -> s.stream(0, bytes, 256 * 1024, sink));
    }

    /** Times {@code body}, which moves {@code bytes}. */
    static Pass time(long bytes, long istgtPid, Body body) throws Exception {
      long cpu = threadCpuNanos();
      long target = processTicks(istgtPid);
      long t0 = System.nanoTime();
      body.run();
      double seconds = (System.nanoTime() - t0) / 1e9;
      double gb = bytes / 1e9;
      return new Pass(bytes / seconds / 1e6, (threadCpuNanos() - cpu) / 1e9 / gb,
        (processTicks(istgtPid) - target) / 100.0 / gb);
    }

    interface Body {
      void run() throws Exception;
    }

    static Pass median(List<Pass> passes) {
      List<Pass> sorted = new ArrayList<>(passes);
      sorted.sort(Comparator.comparingDouble(Pass::mbps));
      return sorted.get(sorted.size() / 2);
    }

    /** CPU time of the calling thread (Linux schedstat; java.management is not in this module's graph). */
    private static long threadCpuNanos() throws Exception {
      return Long.parseLong(Files.readString(Path.of("/proc/thread-self/schedstat")).split(" ")[0]);
    }

    /** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux). */
    private static long processTicks(long pid) throws Exception {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
  }

  public static void main(String[] args) throws Exception {
    long bytes = Long.getLong("mib", 512) << 20;
    Path dir = Files.createTempDirectory("lencap-iscsi-bench");
    IscsiLunIT.dir = dir;
    try (IstgtTarget istgt = new IstgtTarget(dir, IstgtTarget.Spec.of("bench", bytes, bytes))) {
      Resource lun = Resource.builder("lun").type("block").locator(istgt.locator("bench", 0)).build();
      Resource other = Placement.builder().move("lun", istgt.locator("bench", 1)).build().apply(lun);
      IscsiLunIT.fillRandom(lun, 1);

      double raw = libiscsiRead(istgt.locator("bench", 0).toString());
      long pid = Long.parseLong(Files.readString(dir.resolve("istgt.pid")).strip());
      long opened = System.nanoTime();
      try (IscsiSession s = LunSpec.of(lun).connect()) {
        double login = (System.nanoTime() - opened) / 1e9;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        // The first pass runs cold (interpreted, then JIT-compiled); a capture service runs warm, so the figures
        // below are medians of warm passes. CPU seconds per GB are robust against the neighbours' load.
        Pass coldRead = Pass.run(s, bytes, pid, (offset, piece) -> { });
        Pass coldHash = Pass.run(s, bytes, pid, (offset, piece) -> sha.update(piece));
        List<Pass> reads = new ArrayList<>();
        List<Pass> hashes = new ArrayList<>();
        for (int i = 0; i < PASSES; i++) {
          reads.add(Pass.run(s, bytes, pid, (offset, piece) -> { }));
          hashes.add(Pass.run(s, bytes, pid, (offset, piece) -> sha.update(piece)));
        }
        Pass read = Pass.median(reads);
        Pass hashed = Pass.median(hashes);
        System.out.printf("login %.2f s (istgt sleeps 1 s in every new login, libiscsi's too)%n", login);
        System.out.printf("cold first pass: read only %.0f MB/s (ratio %.2f); read + SHA-256 %.0f MB/s (ratio %.2f)%n",
          coldRead.mbps(), coldRead.mbps() / raw, coldHash.mbps(), coldHash.mbps() / raw);
        System.out.printf("our initiator, read only: %.0f MB/s (ratio %.2f); read + SHA-256: %.0f MB/s (ratio %.2f)"
          + " [median of %d warm passes]%n", read.mbps(), read.mbps() / raw, hashed.mbps(), hashed.mbps() / raw, PASSES);
        System.out.printf("CPU per GB read: our reading thread %.2f s, istgt %.2f s; with SHA-256 our thread %.2f s%n",
          read.ourCpu(), read.istgtCpu(), hashed.ourCpu());
      }
      MemoryState.Chunks chunks = new MemoryState.Chunks();
      IscsiLunIT.capture(lun, new MemoryState.Chunks(), "warmup", Optional.empty());
      IscsiLunIT.Captured first = IscsiLunIT.capture(lun, chunks, "cp1", Optional.empty());
      double capture = bytes / first.seconds() / 1e6;
      // The TCK's store is a test double (its chunks copied onto the heap and hashed on the driver's thread):
      // this line bounds the driver, not the product's store path, which LunMemoryBench measures into a local store.
      System.out.printf("capture into the TCK's in-memory test store (read + SHA-256 + the double's copies; the "
        + "provider's session is kept, so no login): %.0f MB/s; libiscsi iscsi-perf raw read: %.0f MB/s; ratio %.2f%n",
        capture, raw, capture / raw);

      IscsiLunIT.rewriteOnePercent(lun, 256 * 1024, 3);
      IscsiLunIT.Captured second = IscsiLunIT.capture(lun, chunks, "cp2", Optional.of(first.state()));
      System.out.printf("second capture after 1%% rewrite stored %d of %d bytes (%.2f%%) in %.2f s%n",
        second.newBytes(), first.newBytes(), 100.0 * second.newBytes() / first.newBytes(), second.seconds());
      double differential = IscsiLunIT.restore(lun, lun, first.state());
      double full = IscsiLunIT.restore(lun, other, first.state()); // LUN 1 is all zeros: every chunk differs
      System.out.printf("restore after 1%% change: differential %.2f s, full %.2f s (%.2fx)%n", differential, full,
        full / differential);
      writesAndRestore(lun, other, bytes, pid); // last: it writes over LUN 1
    }
  }

  /** The WRITE depths whose raw write rates are measured. */
  static final int[] DEPTHS = {1, 2, 4, 8};

  /**
   * A LUN's whole restore against its limits, in interleaved rounds: our initiator's raw write of the LUN from
   * memory (1 MiB WRITEs, 1 to 8 in flight), the JDK's SHA-256 of the same bytes, and the provider's restore of a
   * checkpoint in the TCK's in-memory store onto a LUN where every chunk differs (its restore phase alone: istgt's
   * login is not in it). The restore reads and hashes the target LUN, verifies the chunks that differ (here all),
   * and writes them, reading and verifying them again. Its ratio is to the slower of SHA-256 and the fastest raw
   * write of the round.
   */
  static void writesAndRestore(Resource lun, Resource other, long bytes, long pid) throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    IscsiLunIT.Captured captured = IscsiLunIT.capture(lun, new MemoryState.Chunks(), "restore-source",
        Optional.empty());
    List<List<Double>> writes = new ArrayList<>();
    for (int ignored : DEPTHS) {
      writes.add(new ArrayList<>());
    }
    List<Double> sha = new ArrayList<>();
    List<Double> restore = new ArrayList<>();
    List<Double> ratio = new ArrayList<>();
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    for (int round = 0; round <= PASSES; round++) { // round 0 warms up and is not counted
      double fastest = 0;
      for (int i = 0; i < DEPTHS.length; i++) {
        Resource deep = other.toBuilder().property(LunSpec.QUEUE_DEPTH, Integer.toString(DEPTHS[i])).build();
        try (IscsiSession s = LunSpec.of(deep).connect()) {
          double mbps = Pass.time(bytes, pid, () -> {
            s.write(List.<long[]>of(new long[] {0, bytes}), (offset, d) -> d.put(data, 0, d.remaining()));
            s.synchronizeCache();
          }).mbps();
          fastest = Math.max(fastest, mbps);
          if (round > 0) {
            writes.get(i).add(mbps);
          }
        }
      }
      long t0 = System.nanoTime();
      for (long at = 0; at < bytes; at += data.length) {
        digest.update(data);
      }
      digest.digest();
      double hashed = bytes / ((System.nanoTime() - t0) / 1e9) / 1e6;
      double restored = bytes / restorePhase(lun, other, captured.state()) / 1e6; // every chunk differs from `data`
      if (round > 0) {
        sha.add(hashed);
        restore.add(restored);
        ratio.add(restored / Math.min(fastest, hashed));
      }
    }
    for (int i = 0; i < DEPTHS.length; i++) {
      System.out.printf("raw write, 1 MiB WRITEs, %d in flight: %s MB/s%n", DEPTHS[i], spread(writes.get(i)));
    }
    System.out.printf("SHA-256 (JDK), one core: %s MB/s%n", spread(sha));
    System.out.printf("whole restore (every chunk differs): %s MB/s; restore / min(fastest raw write, SHA-256): %s"
        + " [min / median / max of %d rounds]%n", spread(restore), spread(ratio), PASSES);
  }

  /** Seconds of the restore phase of {@code captured}'s state onto {@code target}. */
  static double restorePhase(Resource captured, Resource target, StoredState state) throws Exception {
    try (ResourceDriver d = IscsiLunIT.provider.open(target, IscsiLunIT.context())) {
      var ctx = IscsiLunIT.Phases.restoreContext(captured, target, state);
      d.prepareRestore(ctx);
      long t0 = System.nanoTime();
      d.restore(ctx);
      double seconds = (System.nanoTime() - t0) / 1e9;
      d.resume();
      return seconds;
    }
  }

  static String spread(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return String.format("%.2f / %.2f / %.2f", sorted.get(0), sorted.get(sorted.size() / 2),
        sorted.get(sorted.size() - 1)).replaceAll("\\.00", "");
  }

  /** MB/s of {@code iscsi-perf} (1 MiB requests, 8 in flight, 5 s) on the same LUN. */
  static double libiscsiRead(String url) throws Exception {
    Process p = new ProcessBuilder("timeout", "20", "iscsi-perf", "-t", "5", "-b", "2048", "-m", "8", url)
      .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor(30, TimeUnit.SECONDS);
    Matcher m = Pattern.compile("iops average \\d+ \\((\\d+) MB/s\\)").matcher(out);
    double last = -1;
    while (m.find()) {
      last = Double.parseDouble(m.group(1));
    }
    if (last < 0) {
      throw new IllegalStateException("iscsi-perf printed no average: " + out);
    }
    return last;
  }
}
