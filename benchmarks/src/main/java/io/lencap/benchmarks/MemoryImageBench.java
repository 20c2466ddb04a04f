package io.lencap.benchmarks;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.benchmarks.reference.Workload;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import io.lencap.testing.FileVolumeProvider;
import io.lencap.testing.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How much of a real guest's second memory image is new, by chunking: a counter guest's memory saved twice the
 * way a non-blocking capture saves it (a live, external, memory-only libvirt snapshot: QEMU's migration stream),
 * N counter ticks apart; then, in interleaved rounds, the first image captured and the second captured over it
 * with content-defined chunks of 256 KiB (what memory images used), 64 KiB and 32 KiB on average, and with fixed
 * 256 KiB chunks and block deltas. Prints what the second capture stored, as a share of the image, and its wall.
 *
 * <p>Run: {@code java -cp benchmarks/target/classes:CLASSPATH io.lencap.benchmarks.MemoryImageBench 10 3} (ticks
 * between the images, rounds; at least 3), after {@code scripts/setup/libvirt.sh} and {@code scripts/setup/guest.sh}.
 */
public final class MemoryImageBench {
  private MemoryImageBench() {}

  record Layout(String name, String chunking, int bytes) {}

  public static void main(String[] args) throws Exception {
    int ticks = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int rounds = Math.max(3, args.length > 1 ? Integer.parseInt(args[1]) : 3);
    CounterGuests guests = CounterGuests.inProject();
    Path work = Files.createTempDirectory("lencap-memory-bench");
    String name = "lencap-bench-mem";
    Path[] images = {work.resolve("first.img"), work.resolve("second.img")};
    try (CounterGuest g = guests.define(name)) {
      g.start();
      int seen = g.awaitCounter(n -> n >= 1, Duration.ofMinutes(2));
      save(g, images[0]);
      for (int i = 0; i < ticks; i++) {
        seen = g.awaitNewCounter(seen, Duration.ofMinutes(1));
      }
      save(g, images[1]);
    }
    System.out.printf("memory images of a counter guest (%s), %d ticks apart: %d and %d bytes; %d rounds, %d cores%n",
        name, ticks, Files.size(images[0]), Files.size(images[1]), rounds, Runtime.getRuntime().availableProcessors());
    List<Layout> layouts = List.of(new Layout("content-defined 256 KiB avg", "content", 256 << 10),
        new Layout("content-defined 64 KiB avg", "content", 64 << 10),
        new Layout("content-defined 32 KiB avg", "content", 32 << 10),
        new Layout("fixed 256 KiB + deltas", "fixed", 256 << 10));
    Map<Layout, List<double[]>> results = new LinkedHashMap<>();
    Path member = work.resolve("memory.img");
    try {
      for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < layouts.size(); i++) {
          Layout l = layouts.get((i + round) % layouts.size());
          Resource mem = Resource.builder("mem").type("block").locator(FileVolumeProvider.SCHEME + "://" + member)
              .property("chunking", l.chunking()).property("chunkBytes", Integer.toString(l.bytes())).build();
          Encapsulation job = Encapsulation.builder("memory-bench").resource(mem).build();
          Path store = work.resolve("store");
          try (Lencap lencap = Lencap.builder().store(store).build()) {
            Files.copy(images[0], member, StandardCopyOption.REPLACE_EXISTING);
            long t = System.nanoTime();
            Checkpoint first = lencap.capture(job).join();
            double firstS = (System.nanoTime() - t) / 1e9;
            Files.copy(images[1], member, StandardCopyOption.REPLACE_EXISTING);
            t = System.nanoTime();
            Checkpoint second = lencap.capture(job).join();
            double secondS = (System.nanoTime() - t) / 1e9;
            results.computeIfAbsent(l, k -> new ArrayList<>()).add(new double[] {100.0 * first.storedBytes()
                / Files.size(images[0]), 100.0 * second.storedBytes() / Files.size(images[1]), firstS, secondS});
          }
          Workload.deleteTree(store);
        }
      }
    } finally {
      Workload.deleteTree(work);
    }
    System.out.println("| chunking | 1st image stored (% of it) | 2nd image stored (% of it) | 1st capture wall s |"
        + " 2nd capture wall s |");
    System.out.println("|---|---|---|---|---|");
    for (Layout l : layouts) {
      List<double[]> r = results.get(l);
      System.out.printf("| %s | %s | %s | %s | %s |%n", l.name(), stats(r, 0, "%.2f%%"), stats(r, 1, "%.2f%%"),
          stats(r, 2, "%.2f"), stats(r, 3, "%.2f"));
    }
  }

  /** The guest's memory as a live external memory-only snapshot writes it; the disks are left alone. */
  private static void save(CounterGuest g, Path image) throws Exception {
    HostCommand.run(Duration.ofMinutes(5), "virsh", "-q", "-c", CounterGuests.inProject().uri(),
        "snapshot-create-as", g.name(), "--no-metadata", "--live", "--memspec", "file=" + image + ",snapshot=external",
        "--diskspec", "vda,snapshot=no");
  }

  /** min / median / max of column {@code i}. */
  private static String stats(List<double[]> rows, int i, String format) {
    double[] v = rows.stream().mapToDouble(x -> x[i]).toArray();
    Arrays.sort(v);
    return String.format(format + " / " + format + " / " + format, v[0], v[v.length / 2], v[v.length - 1]);
  }
}
