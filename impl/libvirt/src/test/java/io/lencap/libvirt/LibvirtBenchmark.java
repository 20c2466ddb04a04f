package io.lencap.libvirt;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.testing.CounterGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Plain benchmark (not a test) on one 128 MiB counter guest on real libvirt + QEMU, all in one run:
 * per-VM pause in non-blocking vs blocking mode (the engine's quiesce-to-resume figure and, for the live
 * snapshot, how long the guest's vCPUs really stood still); capture throughput against a raw copy of the
 * same bytes (the snapshot's memory file and disk base, copied with Files.copy at the cut); bytes stored
 * by a capture after the guest ran 10 s against the first. Run:
 * {@code mvn -o -pl impl/libvirt test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.lencap.libvirt.LibvirtBenchmark} ({@code -Drounds=3}).
 */
public final class LibvirtBenchmark {
  private static final Pattern STOOD_STILL = Pattern.compile("vCPUs stood still (\\d+) ms");

  private LibvirtBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rounds = Integer.getInteger("rounds", 3);
    Path tmp = Files.createTempDirectory("lencap-libvirt-bench");
    Path store = tmp.resolve("store");
    Timing timing = new Timing(store.resolve("work").resolve("libvirt"), tmp.resolve("raw"));
    try (CounterGuest g = QemuSystem.guests().boot("lencap-bench");
         Lencap lencap = Lencap.builder().store(store).listener(timing).build()) {
      g.awaitCounter(n -> n >= 2, Duration.ofMinutes(2));
      timing.disk = g.disk();
      Encapsulation nb = CounterGuestIT.group("bench-nb", CaptureMode.NON_BLOCKING, g.resource("vm"));
      Encapsulation b = CounterGuestIT.group("bench-b", CaptureMode.BLOCKING, g.resource("vm"));

      // Incremental: the first capture into an empty store, then one after the guest ran 10 s.
      Checkpoint first = capture(lencap, nb);
      TimeUnit.SECONDS.sleep(10); // the guest runs for 10 s between the two captures (that is the experiment)
      Checkpoint second = capture(lencap, nb);

      List<Double> nbPause = new ArrayList<>();
      List<Double> nbGuest = new ArrayList<>();
      List<Double> bPause = new ArrayList<>();
      List<Double> throughput = new ArrayList<>();
      List<Double> raw = new ArrayList<>();
      for (int i = 0; i < rounds; i++) {
        Checkpoint c = capture(lencap, nb);
        MemberCheckpoint m = c.member("vm").orElseThrow();
        nbPause.add((double) m.pause().toMillis());
        for (String note : m.notes()) {
          Matcher x = STOOD_STILL.matcher(note);
          if (x.find()) {
            nbGuest.add(Double.parseDouble(x.group(1)));
          }
        }
        throughput.add(m.logicalBytes() / timing.transferSeconds() / 1e6);
        raw.add(timing.rawBytes / timing.rawSeconds / 1e6);
        Checkpoint cb = capture(lencap, b);
        bPause.add((double) cb.member("vm").orElseThrow().pause().toMillis());
      }
      double nbMs = median(nbPause);
      double guestMs = median(nbGuest);
      double bMs = median(bPause);
      System.out.println();
      System.out.println("libvirt provider, one 128 MiB counter guest (QEMU TCG), " + rounds + " rounds, medians:");
      System.out.printf("  pause, non-blocking (engine: quiesce..resume)   %8.0f ms%n", nbMs);
      System.out.printf("  pause, non-blocking (guest vCPUs stood still)   %8.0f ms%n", guestMs);
      System.out.printf("  pause, blocking (suspend, save, copy, restore)  %8.0f ms%n", bMs);
      System.out.printf("  ratio blocking / non-blocking                   %8.1f x (engine), %.1f x (guest)%n",
          bMs / nbMs, bMs / guestMs);
      System.out.printf("  capture transfer throughput                     %8.0f MB/s%n", median(throughput));
      System.out.printf("  raw copy of the same bytes (Files.copy)         %8.0f MB/s%n", median(raw));
      System.out.printf("  first capture:  %d bytes of state, %d stored%n", first.logicalBytes(), first.storedBytes());
      System.out.printf("  after 10 s:     %d bytes of state, %d stored (%.1f%% of the first)%n",
          second.logicalBytes(), second.storedBytes(), 100.0 * second.storedBytes() / first.storedBytes());
    } finally {
      deleteTree(tmp);
    }
    System.exit(0);
  }

  static Checkpoint capture(Lencap lencap, Encapsulation e) throws Exception {
    return lencap.capture(e).get(5, TimeUnit.MINUTES);
  }

  static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> s = values.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  /** Times each transfer and, at each live cut, copies the same bytes raw for comparison. */
  static final class Timing implements io.lencap.api.LencapListener {
    private final Path work;
    private final Path rawDir;
    private final Map<Phase, Long> started = new ConcurrentHashMap<>();
    volatile Path disk;
    volatile long transferNanos;
    volatile long rawBytes;
    volatile double rawSeconds;

    Timing(Path work, Path rawDir) {
      this.work = work;
      this.rawDir = rawDir;
    }

    double transferSeconds() {
      return transferNanos / 1e9;
    }

    @Override
    public void onEvent(LencapEvent event) {
      if (!(event instanceof LencapEvent.PhaseChanged p) || p.memberId() == null) {
        return;
      }
      if (p.status() == LencapEvent.Status.STARTED) {
        started.put(p.phase(), System.nanoTime());
      } else if (p.status() == LencapEvent.Status.COMPLETED && p.phase() == Phase.TRANSFER) {
        transferNanos = System.nanoTime() - started.get(Phase.TRANSFER);
      } else if (p.status() == LencapEvent.Status.COMPLETED && p.phase() == Phase.CUT) {
        rawCopy();
      }
    }

    private void rawCopy() {
      try (Stream<Path> s = Files.list(work)) {
        List<Path> mem = s.filter(f -> f.toString().endsWith(".mem")).toList();
        if (mem.isEmpty()) {
          return; // a save image (blocking mode): the guest is stopped; not measured here
        }
        deleteTree(rawDir);
        Files.createDirectories(rawDir);
        long t0 = System.nanoTime();
        long n = 0;
        for (Path f : List.of(mem.get(0), disk)) {
          Files.copy(f, rawDir.resolve(f.getFileName()));
          n += Files.size(f);
        }
        rawSeconds = (System.nanoTime() - t0) / 1e9;
        rawBytes = n;
        deleteTree(rawDir);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static void deleteTree(Path p) throws java.io.IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }
}
