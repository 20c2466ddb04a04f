package io.lencap.benchmarks;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Second-capture cost with changed-block tracking (member property {@code tracking=bitmap}, the default) and
 * without ({@code none}: each disk image read and hashed whole), same guest size, same run: a counter guest with a
 * qcow2 data disk of N MiB of random bytes; after the first capture 1% of the disk is rewritten through QEMU as
 * 256 KiB extents, captured, then 1% again as scattered 4 KiB blocks, captured. Prints wall time, bytes read and
 * stored, and the ratios against the first capture and against the untracked run.
 * Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.ChangedBlocksBench
 * -Dexec.args=256}
 */
public final class ChangedBlocksBench {
  private static final Pattern READ = Pattern.compile("disk vdb: read (\\d+) of");
  private static final Pattern WHOLE = Pattern.compile("disk vdb: read whole \\((\\d+) bytes");

  private ChangedBlocksBench() {}

  /** One capture's figures. */
  record Figures(long wallMs, long read, long stored, long pauseMs) {}

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    CounterGuests guests = CounterGuests.inProject();
    System.out.printf("changed-block tracking: counter guest, qcow2 data disk of %d MiB, %d cores%n", mib,
        Runtime.getRuntime().availableProcessors());
    Figures[] none = run(guests, mib, "none");
    Figures[] bitmap = run(guests, mib, "bitmap");
    String[] what = {"first capture", "after 1% in 256 KiB extents", "after 1% in scattered 4 KiB blocks"};
    for (int i = 0; i < 3; i++) {
      System.out.printf("%-36s tracking: %6d ms, read %11d B, stored %11d B, pause %4d ms | none: %6d ms, read %11d B,"
          + " stored %11d B, pause %4d ms | wall %.3f, read %.4f, stored %.4f of untracked%n", what[i],
          bitmap[i].wallMs, bitmap[i].read, bitmap[i].stored, bitmap[i].pauseMs, none[i].wallMs, none[i].read,
          none[i].stored, none[i].pauseMs, (double) bitmap[i].wallMs / none[i].wallMs,
          (double) bitmap[i].read / Math.max(1, none[i].read), (double) bitmap[i].stored / Math.max(1, none[i].stored));
    }
    System.out.printf("tracked second capture / first capture: wall %.3f, read %.4f (256 KiB extents); wall %.3f, "
        + "read %.4f (4 KiB blocks)%n", (double) bitmap[1].wallMs / bitmap[0].wallMs,
        (double) bitmap[1].read / bitmap[0].read, (double) bitmap[2].wallMs / bitmap[0].wallMs,
        (double) bitmap[2].read / bitmap[0].read);
  }

  private static Figures[] run(CounterGuests guests, int mib, String tracking) throws Exception {
    String name = "lencap-bench-cbt";
    Path store = Files.createTempDirectory("lencap-cbt-bench");
    try (CounterGuest g = guests.define(name, mib << 20, "qcow2")) {
      g.start();
      g.awaitCounter(n -> n >= 1, Duration.ofMinutes(2));
      Resource vm = Resource.builder("vm").type(io.lencap.api.ResourceType.VIRTUAL_MACHINE).locator(guests.uri())
          .property("domain", name).property("tracking", tracking).build();
      Encapsulation job = Encapsulation.builder("cbt-" + tracking).resource(vm).policy(ResiliencyPolicy.builder()
          .mode(CaptureMode.NON_BLOCKING).pauseBudget(Duration.ofSeconds(60)).phaseTimeout(Duration.ofMinutes(20))
          .build()).build();
      long size = (long) mib << 20;
      Figures[] out = new Figures[3];
      try (Lencap lencap = Lencap.builder().store(store).build()) {
        out[0] = capture(lencap, job, g);
        long onePercent = size / 100;
        for (long off = 0, i = 0; off < onePercent; off += 256 << 10, i++) {
          g.writeThroughQemu("vdb", (i * 7919 * (256L << 10) + 100 * 1024) % (size - (256 << 10)), 256 << 10, 0xab);
        }
        out[1] = capture(lencap, job, g);
        Random r = new Random(1);
        for (long n = onePercent / 4096, i = 0; i < n; i++) {
          g.writeThroughQemu("vdb", (r.nextLong() & Long.MAX_VALUE) % (size / 4096) * 4096, 4096, 0xcd);
        }
        out[2] = capture(lencap, job, g);
      }
      return out;
    } finally {
      try (var files = Files.walk(store)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Figures capture(Lencap lencap, Encapsulation job, CounterGuest g) throws Exception {
    long start = System.nanoTime();
    Checkpoint cp = lencap.capture(job).join();
    long wall = (System.nanoTime() - start) / 1_000_000;
    MemberCheckpoint m = cp.member("vm").orElseThrow();
    long read = Files.size(g.dataImage()); // untracked: the whole image file is read and hashed
    for (String note : m.notes()) {
      Matcher a = READ.matcher(note);
      Matcher b = WHOLE.matcher(note);
      if (a.find()) {
        read = Long.parseLong(a.group(1));
      } else if (b.find()) {
        read = Long.parseLong(b.group(1));
      }
    }
    return new Figures(wall, read, m.storedBytes(), cp.pause().toMillis());
  }
}
