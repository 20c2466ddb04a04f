package io.lencap.iscsi;

import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.spi.tck.MemoryState;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plain benchmark (not a test): capture throughput against libiscsi's raw read of the same istgt LUN, and
 * differential restore after a 1% change against a full restore. Run:
 * {@code mvn -o -pl impl/iscsi test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.lencap.iscsi.IscsiBenchmark}
 * (or plain {@code java -cp}); {@code -Dmib=512} sets the LUN size.
 */
public final class IscsiBenchmark {

  public static void main(String[] args) throws Exception {
    long bytes = Long.getLong("mib", 512) << 20;
    Path dir = Files.createTempDirectory("lencap-iscsi-bench");
    IscsiLunIT.dir = dir;
    try (IstgtTarget istgt = new IstgtTarget(dir, IstgtTarget.Spec.of("bench", bytes, bytes))) {
      Resource lun = Resource.builder("lun").type("block").locator(istgt.locator("bench", 0)).build();
      Resource other = Placement.builder().move("lun", istgt.locator("bench", 1)).build().apply(lun);
      IscsiLunIT.fillRandom(lun, 1);

      double raw = libiscsiRead(istgt.locator("bench", 0).toString());
      try (IscsiSession s = LunSpec.of(lun).connect()) {
        long t0 = System.nanoTime();
        s.stream(0, bytes, 256 * 1024, (offset, piece) -> { });
        double read = bytes / ((System.nanoTime() - t0) / 1e9) / 1e6;
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        t0 = System.nanoTime();
        s.stream(0, bytes, 256 * 1024, (offset, piece) -> sha.update(piece));
        double hashed = bytes / ((System.nanoTime() - t0) / 1e9) / 1e6;
        System.out.printf("our initiator, read only: %.0f MB/s (ratio %.2f); read + SHA-256: %.0f MB/s (ratio %.2f)%n",
          read, read / raw, hashed, hashed / raw);
      }
      MemoryState.Chunks chunks = new MemoryState.Chunks();
      IscsiLunIT.capture(lun, new MemoryState.Chunks(), "warmup", Optional.empty());
      IscsiLunIT.Captured first = IscsiLunIT.capture(lun, chunks, "cp1", Optional.empty());
      double capture = bytes / first.seconds() / 1e6;
      System.out.printf("capture incl. ~1 s istgt login (read + SHA-256 + TCK in-memory store): %.0f MB/s; libiscsi iscsi-perf raw read: %.0f MB/s;"
        + " ratio %.2f%n", capture, raw, capture / raw);

      int chunk = 256 * 1024;
      int blocks = (int) (bytes / chunk);
      Random random = new Random(3);
      byte[] data = new byte[chunk];
      Set<Integer> touched = new HashSet<>();
      try (IscsiSession s = LunSpec.of(lun).connect()) {
        while (touched.size() < blocks / 100) {
          int b = random.nextInt(blocks);
          if (touched.add(b)) {
            random.nextBytes(data);
            s.write((long) b * chunk / s.blockSize(), ByteBuffer.wrap(data));
          }
        }
      }
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
