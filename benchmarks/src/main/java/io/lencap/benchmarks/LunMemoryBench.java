package io.lencap.benchmarks;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.benchmarks.reference.Istgt;
import io.lencap.benchmarks.reference.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether a capture's memory grows with the member: LUNs of each size given (istgt, incompressible bytes) captured
 * and then restored in place, each into a fresh local store, in this one JVM. Prints, for each, the wall time and
 * rate, the most the heap held right after any collection during the capture and during the restore (what survived
 * a collection: the live set, and old garbage not yet collected), the heap's peak with garbage, and direct memory;
 * then the largest LUN's figures over the smallest's. A capture that kept something per chunk would show it in the
 * heap after collections; one bounded by its queues shows the same figure at every size.
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.LunMemoryBench
 * -Dexec.args="512,4096 /var/tmp/lencap-lun-memory"} (sizes in MiB, a work directory with room for the largest
 * LUN twice: image and store). The JVM's maximum heap is printed: run it with {@code MAVEN_OPTS=-Xmx256m} to see the
 * capture fit in a small heap too.
 */
public final class LunMemoryBench {
  private LunMemoryBench() {}

  record Run(long mib, long captureMillis, String capture, long captureAfterGc, long restoreMillis, String restore,
      long restoreAfterGc) {}

  public static void main(String[] args) throws Exception {
    List<Long> sizes = new ArrayList<>();
    for (String s : (args.length > 0 ? args[0] : "512,4096").split(",")) {
      sizes.add(Long.parseLong(s.trim()));
    }
    Path work = Files.createDirectories(Path.of(args.length > 1 ? args[1] : "/var/tmp/lencap-lun-memory"));
    List<Run> runs = new ArrayList<>();
    for (long mib : sizes) {
      Workload.deleteTree(work);
      runs.add(run(work, mib));
    }
    Workload.deleteTree(work);
    System.out.printf("%n| LUN | capture | heap after collections, capture | restore | heap after collections, "
        + "restore |%n|---:|---:|---:|---:|---:|%n");
    for (Run r : runs) {
      System.out.printf("| %d MiB | %d ms (%.0f MiB/s) | %s | %d ms (%.0f MiB/s) | %s |%n", r.mib(), r.captureMillis(),
          r.mib() * 1000.0 / r.captureMillis(), mib(r.captureAfterGc()), r.restoreMillis(),
          r.mib() * 1000.0 / r.restoreMillis(), mib(r.restoreAfterGc()));
    }
    for (Run r : runs) {
      System.out.printf("- %d MiB: capture %s; restore %s%n", r.mib(), r.capture(), r.restore());
    }
    Run small = runs.get(0);
    Run large = runs.get(runs.size() - 1);
    if (large != small && small.captureAfterGc() > 0 && small.restoreAfterGc() > 0) {
      System.out.printf("%n%d MiB over %d MiB: size %.1f, heap after collections %.2f (capture) and %.2f (restore)%n",
          large.mib(), small.mib(), (double) large.mib() / small.mib(),
          (double) large.captureAfterGc() / small.captureAfterGc(),
          (double) large.restoreAfterGc() / small.restoreAfterGc());
    }
  }

  private static Run run(Path work, long mib) throws Exception {
    long bytes = mib << 20;
    try (Istgt istgt = new Istgt(work.resolve("istgt"), bytes)) {
      Workload.fillLun(istgt.image(), bytes, mib);
      Encapsulation group = Encapsulation.builder("lun-memory")
          .policy(ResiliencyPolicy.builder().mode(CaptureMode.NON_BLOCKING).pauseBudget(Duration.ofMinutes(30))
              .phaseTimeout(Duration.ofMinutes(30)).keepLast(0).build())
          .resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, istgt.locator().toString())).build();
      try (Lencap lencap = Lencap.builder().store(work.resolve("store")).build()) {
        System.gc(); // what the JVM held before does not count against this run
        long t0 = System.nanoTime();
        Checkpoint cp;
        String capture;
        long captureAfterGc;
        try (MemoryPeaks peaks = MemoryPeaks.watch()) {
          cp = lencap.capture(group).join();
          capture = peaks.describe();
          captureAfterGc = peaks.heapAfterCollections();
        }
        long captureMillis = (System.nanoTime() - t0) / 1_000_000;
        Workload.fillLun(istgt.image(), bytes, mib + 1); // every chunk differs: the restore writes the whole LUN
        System.gc();
        long t1 = System.nanoTime();
        String restore;
        long restoreAfterGc;
        try (MemoryPeaks peaks = MemoryPeaks.watch()) {
          lencap.restore(group, cp.id()).join();
          restore = peaks.describe();
          restoreAfterGc = peaks.heapAfterCollections();
        }
        long restoreMillis = (System.nanoTime() - t1) / 1_000_000;
        System.out.printf("[bench] %d MiB: capture %d ms, %s; restore %d ms, %s%n", mib, captureMillis, capture,
            restoreMillis, restore);
        return new Run(mib, captureMillis, capture, captureAfterGc, restoreMillis, restore, restoreAfterGc);
      }
    }
  }

  private static String mib(long bytes) {
    return bytes < 0 ? "no collection" : (bytes >> 20) + " MiB";
  }
}
