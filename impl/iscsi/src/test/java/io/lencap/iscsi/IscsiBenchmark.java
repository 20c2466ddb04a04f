package io.lencap.iscsi;

import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.spi.tck.MemoryState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
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
  /** istgt's login handler sleeps one second unconditionally (istgt_iscsi_drop_old_conns). */
  static final double ISTGT_LOGIN_SLEEP = 1.0;

  /** One timed stream over the whole LUN: MB/s, and CPU seconds per GB of this thread and of istgt. */
  record Pass(double mbps, double ourCpu, double istgtCpu) {
    static Pass run(IscsiSession s, long bytes, long istgtPid, IscsiSession.BlockSink sink) throws Exception {
      long cpu = threadCpuNanos();
      long target = processTicks(istgtPid);
      long t0 = System.nanoTime();
      s.stream(0, bytes, 256 * 1024, sink);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double gb = bytes / 1e9;
      return new Pass(bytes / seconds / 1e6, (threadCpuNanos() - cpu) / 1e9 / gb,
        (processTicks(istgtPid) - target) / 100.0 / gb);
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
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
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
      System.out.printf("capture incl. ~1 s istgt login (read + SHA-256 + TCK in-memory store): %.0f MB/s; libiscsi iscsi-perf raw read: %.0f MB/s;"
        + " ratio %.2f%n", capture, raw, capture / raw);
      double transfer = bytes / Math.max(1e-3, first.seconds() - ISTGT_LOGIN_SLEEP) / 1e6;
      System.out.printf("capture without istgt's 1 s login sleep: %.0f MB/s (ratio %.2f)%n", transfer, transfer / raw);

      IscsiLunIT.rewriteOnePercent(lun, 256 * 1024, 3);
      IscsiLunIT.Captured second = IscsiLunIT.capture(lun, chunks, "cp2", Optional.of(first.state()));
      System.out.printf("second capture after 1%% rewrite stored %d of %d bytes (%.2f%%) in %.2f s%n",
        second.newBytes(), first.newBytes(), 100.0 * second.newBytes() / first.newBytes(), second.seconds());
      double differential = IscsiLunIT.restore(lun, lun, first.state());
      double full = IscsiLunIT.restore(lun, other, first.state()); // LUN 1 is all zeros: every chunk differs
      System.out.printf("restore after 1%% change: differential %.2f s, full %.2f s (%.2fx)%n", differential, full,
        full / differential);
    }
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
