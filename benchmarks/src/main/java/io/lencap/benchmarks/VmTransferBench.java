package io.lencap.benchmarks;

import static io.lencap.benchmarks.Samples.add;

import com.sun.nio.file.ExtendedOpenOption;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import io.lencap.testing.HostCommand;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The VM data path: a first capture's transfer of a running counter guest (memory image, boot disk, and a data disk
 * of N MiB whose first M MiB are random, qcow2 or raw) into a fresh local store, interleaved in one process with what
 * bounds it on the data disk's bytes: an NBD read of the disk through {@code qemu-nbd} by {@code nbdcopy} (libnbd's own
 * copier, several requests in flight, and one 256 KiB request at a time as the capture reads), the JDK's SHA-256,
 * zstd -1 and a raw write + fsync into the store's file system (through the page cache as the store writes, and with
 * O_DIRECT as a restored image is written). The capture's rate is the bytes its transfer moved
 * (memory image and both disks' reads) over the transfer phase; each reference's is the data disk's bytes over its
 * time; each ratio is taken within its round. Each round then restores its checkpoint as a new domain, which writes
 * the data disk whole into a new image: the restore's rate is the disk's written bytes over the time the restore's
 * note gives for it, against SHA-256 and each raw write. Beside each step, how many of the machine's cores were busy
 * (all processes: the guest and qemu-nbd included; for the restore, the whole restore, the new domain's start too).
 *
 * <p>Run (after {@code scripts/setup/libvirt.sh} and {@code scripts/setup/guest.sh}): {@code mvn -q -pl benchmarks
 * exec:java -Dexec.mainClass=io.lencap.benchmarks.VmTransferBench -Dexec.args="4096 2048 3"} (disk MiB, MiB
 * written, counted rounds after a first, cold one, and the data disk's format: {@code qcow2}, the default, or
 * {@code raw}, a sparse file that every capture reads whole but for its holes).
 */
public final class VmTransferBench {
  private static final Pattern RESTORED =
      Pattern.compile("disk vdb: restored whole \\((\\d+) bytes into a new image, (\\d+) ms\\)");
  private static final Pattern WHOLE =
      Pattern.compile("disk (vd[a-z]): read whole \\((\\d+) bytes\\) as (?:the guest sees it|its image file holds them)"
          + "(?: but for (\\d+) bytes)?");

  private VmTransferBench() {}

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
    int dataMib = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
    int rounds = Math.max(3, args.length > 2 ? Integer.parseInt(args[2]) : 3);
    String format = args.length > 3 ? args[3] : "qcow2";
    CounterGuests guests = CounterGuests.inProject();
    Path work = Files.createTempDirectory("lencap-vm-bench");
    String name = "lencap-bench-vmx";
    try (CounterGuest g = guests.define(name, (long) mib << 20, (long) dataMib << 20, format)) {
      g.start();
      g.awaitCounter(n -> n >= 1, Duration.ofMinutes(2));
      Path raw = work.resolve("vdb.raw"); // the data disk's written bytes, for the references that read a file
      Path image = format.equals("raw") ? g.data() : g.dataImage();
      HostCommand.run("qemu-img", "convert", "-q", "-U", "-f", format, "-O", "raw", image.toString(), raw.toString());
      HostCommand.run("truncate", "-s", Long.toString((long) dataMib << 20), raw.toString());
      HostCommand.run("sync", "-f", raw.toString());
      Path socket = work.resolve("vdb.sock");
      HostCommand.run("qemu-nbd", "--fork", "--persistent", "--pid-file", work.resolve("nbd.pid").toString(), "-r",
          "-k", socket.toString(), "--image-opts",
          "driver=" + format + ",file.driver=file,file.locking=off,file.filename="
              + image.toString().replace(",", ",,"));
      String uri = "nbd+unix:///?socket=" + socket;
      Resource vm = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(guests.uri())
          .property("domain", name).build();
      Encapsulation job = Encapsulation.builder("vmx").resource(vm).policy(ResiliencyPolicy.builder()
          .mode(CaptureMode.NON_BLOCKING).pauseBudget(Duration.ofSeconds(60)).phaseTimeout(Duration.ofMinutes(20))
          .build()).build();
      double data = dataMib;
      Map<String, List<Double>> rates = new LinkedHashMap<>();
      Map<String, List<Double>> cores = new LinkedHashMap<>();
      Map<String, List<Double>> ratios = new LinkedHashMap<>();
      for (int r = 0; r <= rounds; r++) {
        Map<String, Double> rate = new LinkedHashMap<>();
        Map<String, Double> busy = new LinkedHashMap<>();
        step(rate, busy, "NBD read, nbdcopy (its defaults)", data, () -> nbdcopy(uri));
        step(rate, busy, "NBD read, nbdcopy (one 256 KiB request)", data,
            () -> nbdcopy(uri, "-C", "1", "-R", "1", "--request-size=262144"));
        step(rate, busy, "JDK SHA-256, 1 thread", data, () -> StoreIngestBench.jdkSha256(raw));
        step(rate, busy, "zstd -1 (zstd-jni), 1 thread", data, () -> StoreIngestBench.zstd(raw));
        step(rate, busy, "raw write + fsync", data, () -> StoreIngestBench.rawWrite(raw, work.resolve("out.raw")));
        step(rate, busy, "raw write, O_DIRECT (1 MiB writes) + fsync", data,
            () -> directWrite(raw, work.resolve("out.raw")));
        Path store = work.resolve("store-" + r);
        CpuTicks before = CpuTicks.now();
        Transfer t = capture(job, store);
        busy.put("Lencap transfer (first capture)", before.busyCores());
        rate.put("Lencap transfer (first capture)", t.mib() / t.seconds());
        before = CpuTicks.now();
        Restore back = restore(guests, job, store);
        busy.put("Lencap restore of the data disk", before.busyCores());
        deleteTree(store);
        rate.put("Lencap restore of the data disk", data / back.diskSeconds());
        System.out.printf("round %d%s: transfer %.0f ms, %.1f MiB (memory image %.1f, disks %s); restore elsewhere "
            + "%.0f ms, of it the data disk %.0f ms; %s%n", r, r == 0 ? " (cold: the JVM's first capture)" : "",
            t.seconds() * 1000, t.mib(), t.memory / 1048576.0, t.disks, back.seconds() * 1000,
            back.diskSeconds() * 1000, rate.keySet().stream().map(k -> String.format("%.0f", rate.get(k))).toList());
        if (r == 0) {
          continue;
        }
        rate.forEach((k, v) -> add(rates, k, v));
        busy.forEach((k, v) -> add(cores, k, v));
        double lencap = rate.get("Lencap transfer (first capture)");
        double nbd = rate.get("NBD read, nbdcopy (its defaults)");
        double sha = rate.get("JDK SHA-256, 1 thread");
        double zstd = rate.get("zstd -1 (zstd-jni), 1 thread");
        double write = rate.get("raw write + fsync");
        double fastestWrite = Math.max(write, rate.get("raw write, O_DIRECT (1 MiB writes) + fsync"));
        add(ratios, "Lencap / NBD read (nbdcopy)", lencap / nbd);
        add(ratios, "Lencap / NBD read, one request at a time",
            lencap / rate.get("NBD read, nbdcopy (one 256 KiB request)"));
        add(ratios, "Lencap / JDK SHA-256", lencap / sha);
        add(ratios, "Lencap / zstd -1", lencap / zstd);
        add(ratios, "Lencap / raw write", lencap / write);
        add(ratios, "Lencap / min(NBD read, SHA-256, zstd -1, raw write)",
            lencap / Math.min(Math.min(nbd, sha), Math.min(zstd, write)));
        add(ratios, "restore of the data disk / min(SHA-256, raw write)",
            rate.get("Lencap restore of the data disk") / Math.min(sha, write));
        add(ratios, "restore / min(SHA-256, the faster raw write)",
            rate.get("Lencap restore of the data disk") / Math.min(sha, fastestWrite));
      }
      System.out.printf("VM data path: counter guest, %s data disk of %d MiB (%d MiB written), %d cores, %d "
          + "interleaved warm rounds%n", format, mib, dataMib, Runtime.getRuntime().availableProcessors(), rounds);
      System.out.printf("  %-52s %8s %8s %8s   busy cores (median)%n", "MiB/s", "min", "median", "max");
      rates.forEach((k, v) -> System.out.printf("  %-52s %s   %.2f%n", k, Samples.spread(v, "%8.0f"),
          Samples.median(cores.get(k))));
      System.out.printf("  %-52s %8s %8s %8s%n", "ratio, per round", "min", "median", "max");
      ratios.forEach((k, v) -> System.out.printf("  %-52s %s%n", k, Samples.spread(v, "%8.2f")));
    } finally {
      Path pid = work.resolve("nbd.pid");
      if (Files.exists(pid)) {
        ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(ProcessHandle::destroy);
      }
      deleteTree(work);
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** What a capture's transfer moved, and how long its phase took. */
  record Transfer(double seconds, long memory, Map<String, Long> disks) {
    double mib() {
      return (memory + disks.values().stream().mapToLong(Long::longValue).sum()) / 1048576.0;
    }
  }

  /** How long a restore elsewhere took, and of it the data disk's write (its note). */
  record Restore(double seconds, double diskSeconds) {}

  /**
   * Restores the store's checkpoint as a new domain with its disks in a guest directory of its own: each disk is
   * written whole (the new images hold no bitmap to restore differentially against). Removes the new domain and its
   * files after.
   */
  private static Restore restore(CounterGuests guests, Encapsulation job, Path store) throws Exception {
    String copy = "lencap-bench-vmx-copy";
    Path directory = guests.directory(copy);
    PhaseTimes phases = new PhaseTimes();
    try (Lencap lencap = Lencap.builder().store(store).listener(phases).build()) {
      String id = lencap.checkpoints(job.name()).join().get(0).id();
      Placement there = Placement.builder().move("vm", URI.create(guests.uri()), Map.of("domain", copy,
          "restore.directory", directory.toString())).build();
      lencap.restore(job, id, there).join();
      List<String> notes = phases.notes();
      Matcher m = notes.stream().map(RESTORED::matcher).filter(Matcher::find).findFirst()
          .orElseThrow(() -> new IllegalStateException("no note on the data disk's whole restore in " + notes));
      return new Restore(phases.took(Phase.RESTORE.toString()).toNanos() / 1e9, Long.parseLong(m.group(2)) / 1e3);
    } finally {
      guests.remove(copy);
    }
  }

  private static Transfer capture(Encapsulation job, Path store) throws Exception {
    PhaseTimes phases = new PhaseTimes();
    try (Lencap lencap = Lencap.builder().store(store).listener(phases).build()) {
      Checkpoint cp = lencap.capture(job).join();
      MemberCheckpoint m = cp.member("vm").orElseThrow();
      Map<String, Long> disks = new LinkedHashMap<>();
      long virtual = 0;
      for (String note : m.notes()) {
        Matcher w = WHOLE.matcher(note);
        if (w.find()) {
          long size = Long.parseLong(w.group(2));
          virtual += size;
          disks.put(w.group(1), size - (w.group(3) == null ? 0 : Long.parseLong(w.group(3))));
        }
      }
      if (disks.size() != 2) {
        throw new IllegalStateException("expected notes on two disks read whole, got " + m.notes());
      }
      Duration transfer = phases.took(Phase.TRANSFER.toString());
      return new Transfer(transfer.toNanos() / 1e9, m.logicalBytes() - virtual, disks);
    }
  }

  private static void nbdcopy(String uri, String... options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("nbdcopy"));
    command.addAll(List.of(options));
    command.addAll(List.of(uri, "null:"));
    HostCommand.run(command.toArray(String[]::new));
  }

  private static void step(Map<String, Double> rate, Map<String, Double> busy, String what, double mib,
      StoreIngestBench.Step step) throws Exception {
    CpuTicks before = CpuTicks.now();
    double seconds = StoreIngestBench.time(step);
    busy.put(what, before.busyCores());
    rate.put(what, mib / seconds);
  }

  /** The machine's CPU time from {@code /proc/stat}: busy cores over an interval, every process included. */
  record CpuTicks(long busy, long total) {
    static CpuTicks now() throws IOException {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < f.length; i++) {
        total += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]); // idle + iowait
      return new CpuTicks(total - idle, total);
    }

    double busyCores() throws IOException {
      CpuTicks now = now();
      return (double) (now.busy - busy) / Math.max(1, now.total - total) * Runtime.getRuntime().availableProcessors();
    }
  }

  /** Writes {@code file} into {@code target} with O_DIRECT, 1 MiB at a time, as a restored image is written. */
  static void directWrite(Path file, Path target) throws Exception {
    ByteBuffer buf = ByteBuffer.allocateDirect(2 << 20).alignedSlice(1 << 20).limit(1 << 20).slice();
    try (FileChannel in = FileChannel.open(file);
        FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING, ExtendedOpenOption.DIRECT)) {
      for (long at = 0; in.read(buf.clear(), at) > 0; ) {
        buf.flip();
        while (buf.hasRemaining()) {
          at += out.write(buf, at);
        }
      }
      out.force(true);
    }
    Files.delete(target);
  }
}
