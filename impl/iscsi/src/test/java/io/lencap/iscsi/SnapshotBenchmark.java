package io.lencap.iscsi;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Plain benchmark (not a test): the pause of a non-blocking LUN capture with a storage snapshot (tgt gateway
 * over Ceph RBD, {@link RbdSnapshots}) against the same LUN copied inside the pause, side by side in one run.
 * Needs {@code scripts/setup/iscsi.sh} and {@code scripts/setup/ceph.sh}. Run:
 * {@code mvn -o -pl impl/iscsi test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.lencap.iscsi.SnapshotBenchmark}; {@code -Dmib=256} sets the LUN size, {@code -Druns=3}
 * the captures per mode.
 */
public final class SnapshotBenchmark {

  public static void main(String[] args) throws Exception {
    long bytes = Long.getLong("mib", 256) << 20;
    int runs = Integer.getInteger("runs", 3);
    Path dir = Files.createTempDirectory("lencap-snapshot-bench");
    try (TgtRbdGateway gateway = new TgtRbdGateway(dir)) {
      Resource snapshotted = gateway.randomLun("bench-" + ProcessHandle.current().pid(), bytes, 7);
      Resource copied = Resource.builder("lun").type("block").locator(snapshotted.locator()).build();
      try (Lencap lencap = Lencap.builder().store(dir.resolve("store")).build()) {
        List<Duration> snap = new ArrayList<>();
        List<Duration> copy = new ArrayList<>();
        for (int i = 0; i < runs; i++) { // interleaved, so that both modes see the same machine
          snap.add(pause(lencap, snapshotted, "storage-snapshot"));
          copy.add(pause(lencap, copied, "copy-in-pause"));
        }
        double s = median(snap);
        double c = median(copy);
        System.out.printf("LUN %d MiB on Ceph RBD through tgt, %d captures per mode (median pause):%n", bytes >> 20,
            runs);
        System.out.printf("  storage snapshot  %8.0f ms  %s%n", s, snap);
        System.out.printf("  copy in the pause %8.0f ms  %s%n", c, copy);
        System.out.printf("  ratio snapshot/copy %.3f%n", s / c);
      }
    } finally {
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Duration pause(Lencap lencap, Resource lun, String expectedMethod) {
    Checkpoint cp = lencap.capture(Encapsulation.builder("bench").resource(lun).build()).join();
    String method = cp.member("lun").orElseThrow().method();
    if (!method.equals(expectedMethod)) {
      throw new IllegalStateException("expected " + expectedMethod + " but the capture used " + method);
    }
    return cp.member("lun").orElseThrow().pause();
  }

  private static double median(List<Duration> pauses) {
    List<Long> ms = pauses.stream().map(Duration::toMillis).sorted().toList();
    return ms.get(ms.size() / 2);
  }
}
