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
import io.lencap.testing.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Second-capture cost with changed-block tracking (member property {@code tracking=bitmap}, the default) and
 * without ({@code none}: each disk image read and hashed whole), same guest size, same run: a counter guest with a
 * qcow2 data disk of N MiB whose first M MiB are random bytes (M = N unless given); after the first capture 1% of
 * the disk is rewritten through QEMU with random bytes as 256 KiB extents, captured, then 1% again as scattered 4 KiB blocks, captured.
 * Prints wall time, bytes read and stored, the group's pause, and the ratios against the first capture and against
 * the untracked run. A third argument sets the data image's qcow2 cluster size in KiB (64 unless given): QEMU's dirty
 * bitmaps mark whole clusters, so smaller ones read less after scattered writes. Memory images are measured on their
 * own by {@link MemoryImageBench}.
 * Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.ChangedBlocksBench
 * -Dexec.args="4096 2048"}
 */
public final class ChangedBlocksBench {
  private static final Pattern READ = Pattern.compile("disk vdb: read (\\d+) of");
  private static final Pattern WHOLE = Pattern.compile("disk vdb: read whole \\((\\d+) bytes\\) as the guest sees it(?: but for (\\d+) bytes)?");

  private ChangedBlocksBench() {}

  /** One capture's figures. */
  record Figures(long wallMs, long read, long stored, long pauseMs) {}

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int dataMib = args.length > 1 ? Integer.parseInt(args[1]) : mib;
    int clusterKib = args.length > 2 ? Integer.parseInt(args[2]) : 64;
    CounterGuests guests = CounterGuests.inProject();
    System.out.printf("changed-block tracking: counter guest, qcow2 data disk of %d MiB (%d MiB written) in clusters "
        + "of %d KiB, %d cores%n", mib, dataMib, clusterKib, Runtime.getRuntime().availableProcessors());
    Figures[] none = run(guests, mib, dataMib, clusterKib, "none");
    Figures[] bitmap = run(guests, mib, dataMib, clusterKib, "bitmap");
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
    System.out.printf("stored of the disk's size after 1%% in 4 KiB blocks: %.4f (tracking), %.4f (none)%n",
        (double) bitmap[2].stored / ((long) mib << 20), (double) none[2].stored / ((long) mib << 20));
  }

  private static Figures[] run(CounterGuests guests, int mib, int dataMib, int clusterKib, String tracking)
      throws Exception {
    String name = "lencap-bench-cbt";
    Path store = Files.createTempDirectory("lencap-cbt-bench");
    try (CounterGuest g = guests.define(name, (long) mib << 20, (long) dataMib << 20, "qcow2")) {
      if (clusterKib != 64) {
        Path image = g.dataImage();
        Path other = image.resolveSibling("clusters.qcow2");
        HostCommand.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", "-o", "cluster_size="
            + clusterKib * 1024, image.toString(), other.toString());
        Files.move(other, image, StandardCopyOption.REPLACE_EXISTING);
      }
      g.start();
      g.awaitCounter(n -> n >= 1, Duration.ofMinutes(2));
      Resource vm = Resource.builder("vm").type(io.lencap.api.ResourceType.VIRTUAL_MACHINE).locator(guests.uri())
          .property("domain", name).property("tracking", tracking).build();
      Encapsulation job = Encapsulation.builder("cbt-" + tracking).resource(vm).policy(ResiliencyPolicy.builder()
          .mode(CaptureMode.NON_BLOCKING).pauseBudget(Duration.ofSeconds(60)).phaseTimeout(Duration.ofMinutes(20))
          .build()).build();
      long size = (long) mib << 20;
      Figures[] out = new Figures[3];
      PhaseTimes phases = new PhaseTimes();
      try (Lencap lencap = Lencap.builder().store(store).listener(phases).build()) {
        out[0] = capture(lencap, job, g, phases);
        // What the writes write: random bytes (QEMU reads them from this file), which neither compress nor dedup.
        Path source = g.directory().resolve("writes.bin");
        byte[] random = new byte[256 << 10];
        new Random(2).nextBytes(random);
        Files.write(source, random);
        Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rw-r--r--"));
        long onePercent = size / 100;
        long[] extents = new long[(int) ((onePercent + (256 << 10) - 1) / (256 << 10))];
        for (int i = 0; i < extents.length; i++) {
          extents[i] = (i * 7919L * (256L << 10) + 100 * 1024) % (size - (256 << 10));
        }
        g.writesThroughQemu("vdb", extents, 256 << 10, source);
        out[1] = capture(lencap, job, g, phases);
        Random r = new Random(1);
        long[] blocks = new long[(int) (onePercent / 4096)];
        for (int i = 0; i < blocks.length; i++) {
          blocks[i] = (r.nextLong() & Long.MAX_VALUE) % (size / 4096) * 4096;
        }
        long t = System.nanoTime();
        g.writesThroughQemu("vdb", blocks, 4096, source);
        System.out.printf("  the guest's %d scattered 4 KiB writes: %d ms%n", blocks.length,
            (System.nanoTime() - t) / 1_000_000);
        out[2] = capture(lencap, job, g, phases);
      }
      return out;
    } finally {
      try (var files = Files.walk(store)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Figures capture(Lencap lencap, Encapsulation job, CounterGuest g, PhaseTimes phases)
      throws Exception {
    phases.clear();
    long start = System.nanoTime();
    Checkpoint cp = lencap.capture(job).join();
    long wall = (System.nanoTime() - start) / 1_000_000;
    MemberCheckpoint m = cp.member("vm").orElseThrow();
    System.out.printf("  %s: %d ms; phases: %s%n", cp.id(), wall, phases);
    long read = Files.size(g.dataImage()); // untracked: the whole image file is read and hashed
    for (String note : m.notes()) {
      Matcher a = READ.matcher(note);
      Matcher b = WHOLE.matcher(note);
      if (a.find()) {
        read = Long.parseLong(a.group(1));
      } else if (b.find()) {
        read = Long.parseLong(b.group(1)) - (b.group(2) == null ? 0 : Long.parseLong(b.group(2)));
      }
    }
    return new Figures(wall, read, m.storedBytes(), cp.pause().toMillis());
  }
}
