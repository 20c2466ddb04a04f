package io.lencap.benchmarks;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.benchmarks.reference.Ganesha;
import io.lencap.benchmarks.reference.Istgt;
import io.lencap.benchmarks.reference.ScriptedBaseline;
import io.lencap.benchmarks.reference.Sh;
import io.lencap.benchmarks.reference.Workload;
import io.lencap.testing.CounterGuests;
import io.lencap.timeline.Timeline;
import io.lencap.timeline.TimelineImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The reference group — two 128 MiB counter guests on QEMU, one LUN on istgt, one NFS export on
 * Ganesha, all on loopback — captured in one run by Lencap non-blocking, Lencap blocking and the
 * scripted baseline of what users do today; then again after 1% of the LUN and of the files changed;
 * then restored by each. Starts and stops istgt, Ganesha and the guests itself. Writes a markdown table
 * and each Lencap capture's timeline (SVG and PNG) to {@code out}; then a scale run of test-driver
 * domains in one encapsulation. Last, {@code rounds} more rounds of non-blocking against the baseline only (a fresh
 * store each), which give issue 19's three ratios as min / median / max: capture wall, restore, second capture.
 *
 * <p>Run: {@code scripts/bench.sh [lun=512] [files=20000] [domains=200] [rounds=3] [out=docs/bench] [work=DIR]}.
 */
public final class ReferenceBench {
  private static final String URI = "qemu:///system";
  private static final List<String> VMS = List.of("bench-vm1", "bench-vm2");

  /** One method's figures: both captures and the restore. */
  private static final class Row {
    final String name;
    long pause1;
    long wall1;
    long logical1;
    long stored1;
    long pause2;
    long wall2;
    long stored2;
    long restore;

    Row(String name) {
      this.name = name;
    }
  }

  /** The store option {@code packs} of every Lencap store the bench opens. */
  private static String packs = "true";
  /** Whether the goal rounds call {@link Lencap#warmUp} before their first capture (not counted in it). */
  private static boolean warmUp;

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new LinkedHashMap<>(Map.of("lun", "512", "files", "20000", "domains", "200",
        "rounds", "3", "out", "docs/bench", "work", "/var/tmp/lencap-bench", "table", "yes",
        "packs", "true", "warmup", "no"));
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 0 || !opt.containsKey(a.substring(0, eq))) {
        throw new IllegalArgumentException("argument '" + a + "': expected one of " + opt.keySet() + " as key=value");
      }
      opt.put(a.substring(0, eq), a.substring(eq + 1));
    }
    long lunBytes = Long.parseLong(opt.get("lun")) << 20;
    int files = Integer.parseInt(opt.get("files"));
    int domains = Integer.parseInt(opt.get("domains"));
    int rounds = Integer.parseInt(opt.get("rounds"));
    boolean table = !opt.get("table").equals("no"); // no: the goal rounds alone, for a quick look
    packs = opt.get("packs"); // false: each chunk an object of its own, as before packs
    warmUp = opt.get("warmup").equals("yes"); // Lencap.warmUp() before the JVM's first capture
    Path out = Files.createDirectories(Path.of(opt.get("out")).toAbsolutePath());
    Path work = Path.of(opt.get("work")).toAbsolutePath();
    prepareWork(work);
    StringBuilder report = new StringBuilder();

    CounterGuests guests = CounterGuests.inProject();
    try (Istgt istgt = new Istgt(work.resolve("istgt"), lunBytes);
        Ganesha nfs = new Ganesha(work.resolve("ganesha"))) {
      Workload.fillLun(istgt.image(), lunBytes, 1);
      long treeBytes = Workload.makeTree(nfs.dir(), files, 2);
      log("LUN %d MiB on %s; export of %d files (%.1f MiB) at %s", lunBytes >> 20, istgt.locator(), files,
          treeBytes / 1048576.0, nfs.locator());
      for (String vm : VMS) {
        guests.start(vm);
      }
      for (String vm : VMS) {
        guests.guest(vm).awaitCounterAbove(2, Duration.ofMinutes(5));
      }
      log("guests %s counting", VMS);
      try {
        if (table) {
          run(guests, istgt, nfs, out, work, report, lunBytes, files, treeBytes);
        }
        if (rounds > 0) {
          goalRounds(rounds, guests, istgt, nfs, work, report);
        }
      } finally {
        for (String vm : VMS) {
          guests.remove(vm);
        }
      }
    }
    if (domains > 0) {
      scale(domains, work, report);
    }
    if (table) { // a quick look does not replace the recorded run
      Files.writeString(out.resolve("results.md"), report);
    }
    System.out.println();
    System.out.print(report);
    Workload.deleteTree(work); // stores and copies take gigabytes; on failure they stay for a look
  }

  /** Empties the work directory of an earlier run; refuses a directory the benchmark did not make. */
  private static void prepareWork(Path work) throws Exception {
    Path marker = work.resolve(".lencap-bench");
    if (Files.isDirectory(work) && !Files.exists(marker)) {
      try (var entries = Files.list(work)) {
        if (entries.findAny().isPresent()) {
          throw new IllegalArgumentException("work=" + work + " is not empty and not a benchmark work directory");
        }
      }
    }
    Workload.deleteTree(work);
    Files.createDirectories(work);
    Files.createFile(marker);
  }

  private static void run(CounterGuests guests, Istgt istgt, Ganesha nfs, Path out, Path work, StringBuilder report,
      long lunBytes, int files, long treeBytes) throws Exception {
    Row nb = new Row("Lencap non-blocking");
    Row bl = new Row("Lencap blocking");
    Row sc = new Row("scripted baseline");
    Row nbLive = new Row("Lencap non-blocking, without the LUN");
    Row blLive = new Row("Lencap blocking, without the LUN");
    Encapsulation nbGroup = group("reference-nb", CaptureMode.NON_BLOCKING, guests, istgt, nfs);
    Encapsulation blGroup = group("reference-b", CaptureMode.BLOCKING, guests, istgt, nfs);
    // The same group less the LUN (the one member that cannot cut live on istgt): where the claim can hold.
    Encapsulation nbLiveGroup = group("reference-nb-nolun", CaptureMode.NON_BLOCKING, guests, null, nfs);
    Encapsulation blLiveGroup = group("reference-b-nolun", CaptureMode.BLOCKING, guests, null, nfs);
    Timeline nbTimeline = new Timeline();
    Timeline blTimeline = new Timeline();
    Timeline liveTimeline = new Timeline();
    ScriptedBaseline baseline = new ScriptedBaseline(URI, VMS, istgt.locator(), nfs.dir());
    Map<String, String> notes = new LinkedHashMap<>();
    try (Lencap nbLencap = Lencap.builder().store(work.resolve("store-nb")).storeOption("packs", packs).listener(nbTimeline).build();
        Lencap blLencap = Lencap.builder().store(work.resolve("store-b")).storeOption("packs", packs).listener(blTimeline).build();
        Lencap liveLencap = Lencap.builder().store(work.resolve("store-nolun")).storeOption("packs", packs).listener(liveTimeline).build()) {
      // First capture, each method in turn on the same group.
      Checkpoint nb1 = capture(nbLencap, nbGroup, nb, 1, nbTimeline, out, "", notes);
      Checkpoint bl1 = capture(blLencap, blGroup, bl, 1, blTimeline, out, "", notes);
      capture(liveLencap, nbLiveGroup, nbLive, 1, liveTimeline, out, "-without-lun", notes);
      capture(liveLencap, blLiveGroup, blLive, 1, liveTimeline, out, "-without-lun", notes);
      ScriptedBaseline.Result sc1 = baseline.capture(work.resolve("baseline-1"));
      sc.pause1 = sc1.pauseNanos();
      sc.wall1 = sc1.pauseNanos();
      sc.logical1 = sc1.bytes();
      sc.stored1 = sc1.bytes();
      log("%-20s pause %s, %d bytes", sc.name, ms(sc.pause1), sc.stored1);

      // The physical limit: reading the same bytes from local files, without protocol, hashing or compression.
      List<Path> sources = new ArrayList<>(List.of(istgt.image(), nfs.dir()));
      for (String vm : VMS) {
        sources.add(sc1.dir().resolve(vm + ".save"));
        sources.add(sc1.dir().resolve(vm + ".disk"));
      }
      long r0 = System.nanoTime();
      long rawBytes = Workload.readAll(sources);
      long rawNanos = System.nanoTime() - r0;
      double rawRate = rawBytes / (rawNanos / 1e9);
      log("raw local read of the same bytes: %.1f MiB in %s = %.0f MiB/s", rawBytes / 1048576.0, ms(rawNanos),
          rawRate / 1048576);

      // 1% of the LUN and of the files change, then a second (incremental) capture by each.
      long lunChanged = Workload.mutateLun(istgt.image(), 0.01, 3);
      int filesChanged = Workload.mutateTree(nfs.dir(), 0.01, 4);
      log("changed %d KiB of the LUN (64 KiB extents) and %d files", lunChanged >> 10, filesChanged);
      Checkpoint nb2 = capture(nbLencap, nbGroup, nb, 2, nbTimeline, out, "", notes);
      Checkpoint bl2 = capture(blLencap, blGroup, bl, 2, blTimeline, out, "", notes);
      capture(liveLencap, nbLiveGroup, nbLive, 2, liveTimeline, out, "-without-lun", notes);
      capture(liveLencap, blLiveGroup, blLive, 2, liveTimeline, out, "-without-lun", notes);
      ScriptedBaseline.Result sc2 = baseline.capture(work.resolve("baseline-2"));
      sc.pause2 = sc2.pauseNanos();
      sc.wall2 = sc2.pauseNanos();
      sc.stored2 = sc2.bytes();
      log("%-20s pause %s, %d bytes", sc.name, ms(sc.pause2), sc.stored2);

      // Restores of the second capture, each after the guests were destroyed and 1% changed again.
      nb.restore = restore(guests, istgt, nfs, 5, () -> nbLencap.restore(nbGroup, nb2.id()).join());
      checkCounting(guests);
      bl.restore = restore(guests, istgt, nfs, 6, () -> blLencap.restore(blGroup, bl2.id()).join());
      checkCounting(guests);
      sc.restore = restore(guests, istgt, nfs, 7, () -> baseline.restore(sc2));
      checkCounting(guests);
      log("restores: %s %s, %s %s, %s %s", nb.name, ms(nb.restore), bl.name, ms(bl.restore), sc.name, ms(sc.restore));

      table(report, List.of(nb, bl, sc), rawRate, lunBytes, files, treeBytes, lunChanged, filesChanged);
      report.append("\nRaw local read of the same bytes (LUN image, export files, guests' memory images and disks): ")
          .append(String.format("%.1f MiB in %s = %.0f MiB/s.%n", rawBytes / 1048576.0, ms(rawNanos), rawRate / 1048576));
      report.append(String.format("%nNon-blocking / blocking group pause: %.2f and %.2f (captures 1 and 2).%n",
          ratio(nb.pause1, bl.pause1), ratio(nb.pause2, bl.pause2)));
      report.append("\nThe same group without the LUN (every remaining member cuts live), same run:\n\n"
          + "| method | group pause 1 | capture wall 1 | group pause 2 | capture wall 2 |\n"
          + "|---|---:|---:|---:|---:|\n");
      for (Row x : List.of(nbLive, blLive)) {
        report.append(String.format("| %s | %s | %s | %s | %s |%n", x.name, ms(x.pause1), ms(x.wall1), ms(x.pause2),
            ms(x.wall2)));
      }
      report.append(String.format("%nNon-blocking / blocking group pause without the LUN: %.2f and %.2f.%n",
          ratio(nbLive.pause1, blLive.pause1), ratio(nbLive.pause2, blLive.pause2)));
      report.append("\nPer member (first capture / second capture):\n\n| member | mode | method | pause 1 | pause 2 | stored 1 | stored 2 |\n|---|---|---|---:|---:|---:|---:|\n");
      for (Checkpoint[] pair : List.of(new Checkpoint[] {nb1, nb2}, new Checkpoint[] {bl1, bl2})) {
        for (MemberCheckpoint m : pair[0].members()) {
          MemberCheckpoint m2 = pair[1].member(m.id()).orElseThrow();
          report.append(String.format("| %s | %s | %s | %s | %s | %s | %s |%n", m.id(), pair[0].mode(), m.method(),
              ms(m.pause().toNanos()), ms(m2.pause().toNanos()), mib(m.storedBytes()), mib(m2.storedBytes())));
        }
      }
      report.append("\nProvider notes:\n\n");
      notes.forEach((k, v) -> report.append("- ").append(k).append(": ").append(v).append('\n'));
    }
  }

  /**
   * Issue 19's ratios, each round on a fresh store with a warm JVM: non-blocking capture wall over the scripted
   * baseline's, second capture (after 1% changed) over the first, and restore over the baseline's restore.
   */
  private static void goalRounds(int rounds, CounterGuests guests, Istgt istgt, Ganesha nfs, Path work,
      StringBuilder report) throws Exception {
    Encapsulation group = group("reference-round", CaptureMode.NON_BLOCKING, guests, istgt, nfs);
    ScriptedBaseline baseline = new ScriptedBaseline(URI, VMS, istgt.locator(), nfs.dir());
    List<Double> capture = new ArrayList<>();
    List<Double> second = new ArrayList<>();
    List<Double> restore = new ArrayList<>();
    StringBuilder each = new StringBuilder();
    List<String> memory = new ArrayList<>();
    for (int r = 1; r <= rounds; r++) {
      Path store = work.resolve("store-round-" + r);
      Path copy = work.resolve("baseline-round-" + r);
      Timeline timeline = new Timeline();
      try (Lencap lencap = Lencap.builder().store(store).storeOption("packs", packs).listener(timeline).build()) {
        if (warmUp && r == 1) {
          long w = System.nanoTime();
          lencap.warmUp().join();
          log("warm-up before round 1: %s", ms(System.nanoTime() - w));
        }
        Instant called = Instant.now();
        long t0 = System.nanoTime();
        long first;
        try (MemoryPeaks peaks = MemoryPeaks.watch()) {
          Checkpoint cp = lencap.capture(group).join();
          first = System.nanoTime() - t0;
          log("round %d, first capture's phases: %s; %s", r, spans(timeline.bars(cp.id()), called, Instant.now()),
              exportPasses(cp));
          memory.add(peaks.describe());
        }
        ScriptedBaseline.Result script = baseline.capture(copy);
        Workload.mutateLun(istgt.image(), 0.01, 100 + r);
        Workload.mutateTree(nfs.dir(), 0.01, 100 + r);
        Instant calledAgain = Instant.now();
        long t1 = System.nanoTime();
        Checkpoint again = lencap.capture(group).join();
        long next = System.nanoTime() - t1;
        log("round %d, second capture's phases: %s; %s", r, spans(timeline.bars(again.id()), calledAgain,
            Instant.now()), exportPasses(again));
        long restored = restore(guests, istgt, nfs, 200 + r, () -> lencap.restore(group, again.id()).join());
        checkCounting(guests);
        long scripted = restore(guests, istgt, nfs, 300 + r, () -> baseline.restore(script));
        checkCounting(guests);
        capture.add(ratio(first, script.pauseNanos()));
        second.add(ratio(next, first));
        restore.add(ratio(restored, scripted));
        each.append(String.format("- round %d: capture %s (baseline %s; %s), second capture %s, restore %s "
            + "(baseline %s)%n", r, ms(first), ms(script.pauseNanos()), memory.get(r - 1), ms(next), ms(restored),
            ms(scripted)));
        log("round %d: capture %s / baseline %s, second %s, restore %s / baseline %s", r, ms(first),
            ms(script.pauseNanos()), ms(next), ms(restored), ms(scripted));
      } finally {
        Workload.deleteTree(store);
        Workload.deleteTree(copy);
      }
    }
    report.append(String.format("%nIssue 19's ratios over %d more rounds (non-blocking against the baseline in turn, a "
        + "fresh store each round, warm JVM):%n%n| ratio | min | median | max | goal |%n|---|---:|---:|---:|---:|%n",
        rounds));
    goal(report, "capture wall / baseline's", capture, "≤ 0.70");
    goal(report, "restore / baseline's restore", restore, "≤ 0.70");
    goal(report, "second capture (after 1% changed) / first", second, "≤ 0.25");
    report.append('\n').append(each);
  }

  /**
   * Where a capture's wall went, on the group's critical path: until every member was prepared, the group's pause,
   * the transfers after it, the commit (from the last transfer to the last release's start) and the releases
   * after it.
   */
  private static String spans(List<Timeline.Bar> bars, Instant called, Instant returned) {
    Instant start = bars.stream().map(Timeline.Bar::start).min(Comparator.naturalOrder()).orElseThrow();
    Function<Phase, Optional<Instant>> end = phase -> bars.stream()
        .filter(b -> b.phase() == phase).map(Timeline.Bar::end).max(Comparator.naturalOrder());
    Instant prepared = end.apply(Phase.PREPARE).orElse(start);
    Instant resumed = end.apply(Phase.RESUME).orElse(prepared);
    Instant transferred = end.apply(Phase.TRANSFER).orElse(resumed);
    // The releases that wait for the commit start together once it is done; a VM's starts as soon as its transfer
    // is done, overlapping the commit. So the commit ends at the last release's start.
    Instant released = bars.stream().filter(b -> b.phase() == Phase.RELEASE).map(Timeline.Bar::start)
        .filter(t -> !t.isBefore(transferred)).max(Comparator.naturalOrder()).orElse(transferred);
    Instant done = end.apply(Phase.RELEASE).orElse(released);
    return String.format("before the first phase %d ms, prepare %d ms, pause %d ms, transfer after it %d ms, "
        + "commit %d ms, release %d ms, after it %d ms", Duration.between(called, start).toMillis(),
        Duration.between(start, prepared).toMillis(), Duration.between(prepared, resumed).toMillis(),
        Math.max(0, Duration.between(resumed, transferred).toMillis()),
        Math.max(0, Duration.between(transferred, released).toMillis()), Duration.between(released, done).toMillis(),
        Duration.between(done, returned).toMillis()) + inPause(bars, prepared, resumed)
        + String.format(" [epoch s: prepare %s-%s, pause -%s, return %s]", epoch(start), epoch(prepared),
            epoch(resumed), epoch(returned));
  }

  /** An instant as the epoch seconds system-wide profilers print (perf's CLOCK_REALTIME): to match their samples. */
  private static String epoch(Instant t) {
    return String.format("%d.%03d", t.getEpochSecond(), t.getNano() / 1_000_000);
  }

  /** What the export's pre-copy passes and final pass did, from its notes. */
  private static String exportPasses(Checkpoint cp) {
    return cp.member("export").stream().flatMap(m -> m.notes().stream())
        .filter(n -> n.startsWith("pre-copy in") || n.startsWith("final pass")).collect(Collectors.joining("; "));
  }

  /** Each member's calls that ended inside the pause, in ms: where a long pause went. */
  private static String inPause(List<Timeline.Bar> bars, Instant prepared, Instant resumed) {
    return bars.stream().filter(b -> b.memberId() != null && !b.end().isBefore(prepared) && !b.end().isAfter(resumed)
            && b.phase() != Phase.PREPARE)
        .sorted(Comparator.comparing(Timeline.Bar::start))
        .map(b -> b.memberId() + " " + b.phase().name().toLowerCase(java.util.Locale.ROOT) + " "
            + Duration.between(b.start(), b.end()).toMillis())
        .collect(java.util.stream.Collectors.joining(", ", " (in it: ", ")"));
  }

  private static void goal(StringBuilder report, String name, List<Double> values, String goal) {
    List<Double> sorted = values.stream().sorted().toList();
    report.append(String.format("| %s | %.2f | %.2f | %.2f | %s |%n", name, sorted.get(0),
        sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), goal));
  }

  private static Encapsulation group(String name, CaptureMode mode, CounterGuests guests, Istgt istgt, Ganesha nfs) {
    Encapsulation.Builder b = Encapsulation.builder(name)
        .policy(ResiliencyPolicy.builder().mode(mode).pauseBudget(Duration.ofMinutes(10)).keepLast(0).build());
    for (String vm : VMS) {
      b.resource(guests.resource(vm));
    }
    if (istgt != null) {
      b.resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, istgt.locator().toString()));
    }
    return b.resource(Resource.of("export", ResourceType.FILE_TREE, nfs.locator())).build();
  }

  private static Checkpoint capture(Lencap lencap, Encapsulation group, Row row, int round, Timeline timeline, Path out,
      String tag, Map<String, String> notes) throws Exception {
    long t0 = System.nanoTime();
    Checkpoint cp = lencap.capture(group).join();
    long wall = System.nanoTime() - t0;
    if (round == 1) {
      row.pause1 = cp.pause().toNanos();
      row.wall1 = wall;
      row.logical1 = cp.logicalBytes();
      row.stored1 = cp.storedBytes();
    } else {
      row.pause2 = cp.pause().toNanos();
      row.wall2 = wall;
      row.stored2 = cp.storedBytes();
    }
    for (MemberCheckpoint m : cp.members()) {
      if (!m.notes().isEmpty()) {
        notes.putIfAbsent(cp.encapsulation() + " / " + m.id() + ", capture " + round, String.join("; ", m.notes()));
      }
    }
    String file = "timeline-" + cp.mode().name().toLowerCase().replace('_', '-') + tag + "-" + round;
    TimelineImage image = new TimelineImage(row.name + ", capture " + round + " (" + cp.id() + ")", timeline.bars(cp.id()));
    Files.writeString(out.resolve(file + ".svg"), image.svg());
    image.writePng(out.resolve(file + ".png"));
    log("%-20s capture %d: pause %s, wall %s, %s logical, %s stored; %s.svg/.png", row.name, round,
        ms(cp.pause().toNanos()), ms(wall), mib(cp.logicalBytes()), mib(cp.storedBytes()), file);
    return cp;
  }

  private interface Step {
    void run() throws Exception;
  }

  /** Destroys the guests, changes 1% of the LUN and files, then times the restore. */
  private static long restore(CounterGuests guests, Istgt istgt, Ganesha nfs, long seed, Step restore) throws Exception {
    for (String vm : VMS) {
      Sh.run("virsh", "-q", "-c", URI, "destroy", vm);
    }
    Workload.mutateLun(istgt.image(), 0.01, seed);
    Workload.mutateTree(nfs.dir(), 0.01, seed);
    long t0 = System.nanoTime();
    restore.run();
    return System.nanoTime() - t0;
  }

  /** A restored guest must count on: a step back to the captured value, then new counters. */
  private static void checkCounting(CounterGuests guests) throws Exception {
    for (String vm : VMS) {
      int seen = guests.guest(vm).counters().size();
      guests.guest(vm).awaitNewCounter(seen, Duration.ofMinutes(1));
    }
  }

  private static void table(StringBuilder r, List<Row> rows, double rawRate, long lunBytes, int files, long treeBytes,
      long lunChanged, int filesChanged) {
    Row ref = rows.get(0);
    r.append(String.format("Reference group: 2 counter guests (128 MiB, QEMU TCG), LUN %d MiB (istgt, random bytes), "
        + "export of %d files (%.1f MiB, Ganesha); second capture after %d KiB of the LUN (64 KiB extents) and %d "
        + "files changed; restores after the guests were destroyed and 1%% changed again. %d cores.%n%n",
        lunBytes >> 20, files, treeBytes / 1048576.0, lunChanged >> 10, filesChanged,
        Runtime.getRuntime().availableProcessors()));
    r.append("| method | group pause 1 | ratio | capture wall 1 | ratio | stored 1 | ratio | throughput 1 (of raw read) "
        + "| group pause 2 | ratio | capture wall 2 | incremental stored 2 | ratio | restore | ratio |\n");
    r.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row x : rows) {
      double rate = x.logical1 / (x.wall1 / 1e9);
      r.append(String.format("| %s | %s | %.2f | %s | %.2f | %s | %.2f | %.0f MiB/s (%.1f%%) | %s | %.2f | %s | %s | %.2f | %s | %.2f |%n",
          x.name, ms(x.pause1), ratio(x.pause1, ref.pause1), ms(x.wall1), ratio(x.wall1, ref.wall1), mib(x.stored1),
          ratio(x.stored1, ref.stored1), rate / 1048576, 100 * rate / rawRate, ms(x.pause2), ratio(x.pause2, ref.pause2),
          ms(x.wall2), mib(x.stored2), ratio(x.stored2, ref.stored2), ms(x.restore), ratio(x.restore, ref.restore)));
    }
    r.append("\nRatios are to Lencap non-blocking in the same run (1.00 = non-blocking's figure).\n");
  }

  /** Coordination cost of one encapsulation of many test-driver domains (no daemon, no data). */
  private static void scale(int domains, Path work, StringBuilder report) throws Exception {
    StringBuilder xml = new StringBuilder("<node>\n");
    for (int i = 0; i < domains; i++) {
      xml.append("<domain type='test'><name>d").append(i).append("</name><memory unit='MiB'>64</memory>")
          .append("<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>\n");
    }
    Path node = work.resolve("scale-node.xml");
    Files.writeString(node, xml.append("</node>\n"));
    report.append(String.format("%nScale: %d libvirt test-driver domains (test://%s) in one encapsulation, "
        + "second capture timed (the first warms up):%n%n| mode | capture wall | per member | group pause | restore | per member |%n"
        + "|---|---:|---:|---:|---:|---:|%n", domains, node));
    try (Lencap lencap = Lencap.builder().store(work.resolve("store-scale")).storeOption("packs", packs).build()) {
      for (CaptureMode mode : CaptureMode.values()) {
        Encapsulation.Builder b = Encapsulation.builder("scale-" + mode.name().toLowerCase())
            .policy(ResiliencyPolicy.builder().mode(mode).pauseBudget(Duration.ofMinutes(10)).build());
        for (int i = 0; i < domains; i++) {
          b.resource(Resource.builder("d" + i).type(ResourceType.VIRTUAL_MACHINE).locator("test://" + node)
              .property("domain", "d" + i).build());
        }
        Encapsulation group = b.build();
        lencap.capture(group).join();
        long t0 = System.nanoTime();
        Checkpoint cp = lencap.capture(group).join();
        long wall = System.nanoTime() - t0;
        long r0 = System.nanoTime();
        lencap.restore(group, cp.id()).join();
        long restore = System.nanoTime() - r0;
        report.append(String.format("| %s | %s | %.2f ms | %s | %s | %.2f ms |%n", mode, ms(wall), wall / 1e6 / domains,
            ms(cp.pause().toNanos()), ms(restore), restore / 1e6 / domains));
        log("scale %s: %d domains, capture %s (%.2f ms/member), pause %s, restore %s", mode, domains, ms(wall),
            wall / 1e6 / domains, ms(cp.pause().toNanos()), ms(restore));
      }
    }
  }

  private static double ratio(long x, long ref) {
    return ref == 0 ? Double.NaN : (double) x / ref;
  }

  private static String ms(long nanos) {
    return nanos >= 10_000_000_000L ? String.format("%.1f s", nanos / 1e9) : String.format("%d ms", nanos / 1_000_000);
  }

  private static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / 1048576.0);
  }

  private static void log(String format, Object... args) {
    System.out.printf("[bench] " + format + "%n", args);
  }
}
