package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.tck.FaultInjectingProvider;
import io.lencap.spi.tck.FaultInjectingProvider.Fault;
import io.lencap.spi.tck.ForwardingDriver;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EngineTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  final FaultInjectingProvider faulty = new FaultInjectingProvider(memory);
  Lencap lencap;

  /**
   * The tests' phases have a 1 s limit (the fault cells wait it out), which the first capture of a cold JVM on a
   * loaded machine can exceed while it loads the store's classes; so one capture runs first, on its own store.
   */
  @BeforeAll
  static void warmUp(@TempDir Path other) {
    MemoryProvider m = new MemoryProvider();
    m.devices.put("w", new byte[64 * 1024]);
    EngineSettings settings = new EngineSettings(other.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    try (Lencap l = Engine.open(settings, new ProviderRegistry(List.of(m)))) {
      Encapsulation g = Encapsulation.builder("warm").resource(Resource.of("w", ResourceType.BLOCK_VOLUME, "mem://w"))
          .build();
      l.restore(g, l.capture(g).join().id()).join();
    }
  }

  Lencap open() {
    return open(Map.of());
  }

  Lencap open(Map<String, String> storeOptions) {
    EngineSettings settings = new EngineSettings(store.toUri(), storeOptions, Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    lencap = Engine.open(settings, new ProviderRegistry(List.of(faulty)));
    return lencap;
  }

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
  }

  Encapsulation group(CaptureMode mode, int members) {
    Encapsulation.Builder b = Encapsulation.builder("g");
    Random random = new Random(members);
    for (int i = 0; i < members; i++) {
      byte[] data = new byte[64 * 1024 + i * 1000];
      random.nextBytes(data);
      memory.devices.put("d" + i, data);
      b.resource(Resource.of("m" + i, i == 0 ? ResourceType.BLOCK_VOLUME : ResourceType.VIRTUAL_MACHINE,
          "mem://d" + i));
    }
    return b.policy(ResiliencyPolicy.builder().mode(mode).pauseBudget(Duration.ofMillis(1500))
        .pauseGrace(Duration.ofMillis(500)).phaseTimeout(Duration.ofSeconds(1)).build()).build();
  }

  @Test
  void capturesAndRestoresAGroup() {
    Lencap l = open();
    Encapsulation g = group(CaptureMode.NON_BLOCKING, 3);
    byte[] original = memory.devices.get("d1").clone();
    Checkpoint cp = l.capture(g).join();
    assertEquals(3, cp.members().size());
    assertTrue(memory.quiesced.isEmpty());
    memory.devices.get("d1")[5] ^= 1;
    l.restore(g, cp.id()).join();
    assertArrayEquals(original, memory.devices.get("d1"));
    assertEquals(List.of(cp.id()), l.checkpoints("g").join().stream().map(Checkpoint::id).toList());
    assertTrue(l.verify("g").join().ok());
  }

  @Test
  void aSecondCaptureStoresOnlyWhatChanged() {
    Lencap l = open();
    Encapsulation g = group(CaptureMode.NON_BLOCKING, 2);
    Checkpoint first = l.capture(g).join();
    memory.devices.get("d1")[10] ^= 1;
    Checkpoint second = l.capture(g).join();
    assertEquals(Optional.of(first.id()), second.parent());
    assertTrue(second.storedBytes() <= 4096 + 64, "stored " + second.storedBytes());
  }

  @Test
  void restoresOntoAnotherPlacementLeavingTheOriginal() {
    Lencap l = open();
    Encapsulation g = group(CaptureMode.BLOCKING, 2);
    Checkpoint cp = l.capture(g).join();
    byte[] captured = memory.devices.get("d1").clone();
    memory.devices.get("d1")[0] ^= 1;
    byte[] changed = memory.devices.get("d1").clone();
    l.restore(g, cp.id(), Placement.builder().move("m1", URI.create("mem://copy")).build()).join();
    assertArrayEquals(captured, memory.devices.get("copy"));
    assertArrayEquals(changed, memory.devices.get("d1"));
  }

  @Test
  void aPauseTheProviderMeasuredIsTheMembersPause() {
    Duration measured = Duration.ofMillis(4242); // far above what the engine can measure here: not a coincidence
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(new WrappedProvider(memory, d -> new ForwardingDriver(d) {
          @Override
          public Cut cut(CaptureContext c) throws Exception {
            if (c.resource().id().equals("m1")) {
              c.pause(measured);
            }
            return delegate.cut(c);
          }
        }))));
    // The default policy's limits: this test is about what is reported, not about time-outs on a busy machine.
    Checkpoint cp = lencap.capture(Encapsulation.builder("g").resources(group(CaptureMode.NON_BLOCKING, 2)
        .resources()).build()).join();

    MemberCheckpoint m1 = cp.members().stream().filter(m -> m.id().equals("m1")).findFirst().orElseThrow();
    MemberCheckpoint m0 = cp.members().stream().filter(m -> m.id().equals("m0")).findFirst().orElseThrow();
    assertEquals(measured, m1.pause());
    assertTrue(m1.notes().stream().anyMatch(n -> n.startsWith("pause measured by the provider: 4242 ms")), m1.notes()
        .toString());
    assertTrue(m0.pause().compareTo(measured) < 0, m0.pause().toString()); // no report: quiesce to resume
    assertEquals(measured, cp.pause());
    assertEquals(measured, lencap.checkpoints("g").join().get(0).pause()); // as stored
  }

  @Test
  void theProviderStatesWhichMembersWriteAndWhichAreStorage() {
    // Two LUNs: storage by type, so unordered; the provider says m1 writes to m0.
    List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());
    io.lencap.spi.ResourceProvider provider = new io.lencap.spi.tck.ForwardingProvider(memory) {
      @Override
      public io.lencap.spi.MemberRole role(Resource r) {
        return r.id().equals("m1") ? io.lencap.spi.MemberRole.WRITER : io.lencap.spi.MemberRole.STORAGE;
      }

      @Override
      public io.lencap.spi.ResourceDriver open(Resource r, io.lencap.spi.ProviderContext c) {
        return new ForwardingDriver(memory.open(r, c)) {
          @Override
          public void quiesce() throws Exception {
            calls.add("quiesce " + r.id());
            delegate.quiesce();
          }

          @Override
          public void resume() throws Exception {
            calls.add("resume " + r.id());
            delegate.resume();
          }
        };
      }
    };
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(provider)));
    memory.devices.put("d0", new byte[4096]);
    memory.devices.put("d1", new byte[4096]);
    Encapsulation g = Encapsulation.builder("g")
        .resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .resource(Resource.of("m1", ResourceType.BLOCK_VOLUME, "mem://d1")).build();

    lencap.capture(g).join();

    assertEquals(List.of("quiesce m1", "quiesce m0", "resume m0", "resume m1"), calls);
  }

  private static JournalRecord deadCapture(Engine engine, String memberId) {
    return JournalRecord.capture("20261122T000000Z-dead", "g",
        new JournalRecord.Owner(engine.owner().host(), Long.MAX_VALUE, Instant.EPOCH), Instant.now(),
        List.of(new JournalRecord.Member(memberId, ResourceType.BLOCK_VOLUME, Map.of(), false)));
  }

  private static Encapsulation snapshotted() {
    return Encapsulation.builder("g").resource(Resource.builder("lun").type(ResourceType.BLOCK_VOLUME)
        .locator("mem://d0").property("snapshot", "yes").build()).build();
  }

  @Test
  void repairDeletesTheStorageSnapshotOfACaptureThatDiedBeforeRecordingItsCut() throws IOException {
    PropertySnapshots snapshots = new PropertySnapshots();
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    Engine first = (Engine) Engine.open(settings, new ProviderRegistry(List.of(memory), List.of(snapshots)));
    first.store().record(deadCapture(first, "lun"));
    first.close();

    lencap = Engine.open(settings, new ProviderRegistry(List.of(memory), List.of(snapshots)));
    assertEquals(List.of(), snapshots.deleted, "opening the store acts on nothing it finds there");
    lencap.repair(snapshotted()).join();
    assertEquals(List.of(StorageSnapshot.imageName("20261122T000000Z-dead")), snapshots.deleted);
    assertTrue(((Engine) lencap).store().journal().isEmpty(), "the repaired record is forgotten");
  }

  @Test
  void aPlantedJournalRecordIsNeverActedOn() throws IOException {
    PropertySnapshots snapshots = new PropertySnapshots();
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    Engine engine = (Engine) Engine.open(settings, new ProviderRegistry(List.of(memory), List.of(snapshots)));
    lencap = engine;
    // Whoever can write to the store, without the record key: a well-formed record sealed under another key.
    String key = CheckpointStore.JOURNAL + "20261122T000000Z-dead";
    byte[] planted = RecordSeal.withKey(new byte[32]).seal(key, Json.write(deadCapture(engine, "lun")));
    Files.createDirectories(store.resolve("journal"));
    Files.write(store.resolve(key), ChunkCodec.plain().encode(key, planted));
    assertTrue(engine.store().journal().isEmpty(), "a record that is not authentic is not read as one");
    lencap.repair(snapshotted()).join();
    assertEquals(List.of(), snapshots.deleted, "the planted record made Lencap act");
  }

  /**
   * The exploit the review ran: a journal record as earlier versions wrote it, planted with a dead owner and
   * a member whose {@code snapshot.command} is a script. Opening the store and repairing the group must not
   * run it, and must not start anything for a planted protection record either.
   */
  @Test
  void plantedRecordsRunNoCommandAndStartNothing() throws Exception {
    Path marker = store.resolveSibling(store.getFileName() + "-marker");
    Path script = store.resolveSibling(store.getFileName() + "-evil.sh");
    Files.writeString(script, "#!/bin/sh\ntouch " + marker + "\n");
    script.toFile().setExecutable(true);
    Files.createDirectories(store.resolve("journal"));
    Files.createDirectories(store.resolve("protections"));
    String owner = "{\"host\":\"" + java.net.InetAddress.getLocalHost().getHostName()
        + "\",\"pid\":999999999,\"processStart\":\"1970-01-01T00:00:00Z\"}";
    String member = "{\"id\":\"lun\",\"type\":\"BLOCK_VOLUME\",\"locator\":\"mem://d0\",\"properties\":"
        + "{\"snapshot.command\":\"" + script + "\"},\"cutArtefacts\":{}}";
    String journal = "journal/20261122T000000Z-evil";
    Files.write(store.resolve(journal), ChunkCodec.plain().encode(journal, ("{\"captureId\":\"20261122T000000Z-evil\","
        + "\"operationId\":\"20261122T000000Z-evil\",\"kind\":\"CAPTURE\",\"encapsulation\":\"g\",\"owner\":"
        + owner + ",\"startedAt\":\"1970-01-01T00:00:00Z\",\"members\":[" + member + "]}").getBytes()));
    String protection = "protections/g";
    Files.write(store.resolve(protection), ChunkCodec.plain().encode(protection, ("{\"name\":\"g\",\"members\":["
        + member + "],\"policy\":{\"checkpointInterval\":\"PT0.1S\"}}").getBytes()));
    memory.devices.put("d0", new byte[4096]);

    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    lencap = Engine.open(settings, new ProviderRegistry(List.of(memory), List.of(new CommandSnapshot())));
    assertTrue(lencap.protections().isEmpty(), "a planted protection record started a protection");
    lencap.repair(Encapsulation.builder("g").resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .build()).join();
    assertFalse(Files.exists(marker), "a planted record made Lencap run a command");
    assertTrue(lencap.checkpoints("g").join().isEmpty(), "a planted record started a capture");
  }

  @Test
  void repairTouchesOnlyMembersTheApplicationDeclares() throws IOException {
    PropertySnapshots snapshots = new PropertySnapshots();
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC());
    Engine engine = (Engine) Engine.open(settings, new ProviderRegistry(List.of(memory), List.of(snapshots)));
    lencap = engine;
    engine.store().record(deadCapture(engine, "not-declared"));
    lencap.repair(snapshotted()).join();
    assertEquals(List.of(), snapshots.deleted);
  }

  @Test
  void aMemberSeesWhereAnotherMemberMoves() {
    Lencap l = open();
    Encapsulation g = group(CaptureMode.BLOCKING, 2);
    Checkpoint cp = l.capture(g).join();
    l.restore(g, cp.id(), Placement.builder().move("m0", URI.create("mem://copy")).build()).join();
    assertEquals(Optional.of(URI.create("mem://copy")), memory.d0SeenAt.get("d1").map(Resource::locator));
    l.restore(g, cp.id()).join();
    assertEquals(Optional.empty(), memory.d0SeenAt.get("d1"), "nothing moved");
  }

  @Test
  void aFlippedByteFailsTheRestoreAndVerifyNamesIt() throws IOException {
    Lencap l = open(Map.of("packs", "false")); // a chunk per object (packs: PackTest)
    Encapsulation g = group(CaptureMode.NON_BLOCKING, 1);
    Checkpoint cp = l.capture(g).join();
    Path chunk;
    try (Stream<Path> s = Files.walk(store.resolve("chunks"))) {
      chunk = s.filter(Files::isRegularFile).findFirst().orElseThrow();
    }
    byte[] b = Files.readAllBytes(chunk);
    b[b.length - 1] ^= 0x40;
    Files.write(chunk, b);
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> l.restore(g, cp.id()).join());
    CorruptCheckpointException c = assertInstanceOf(CorruptCheckpointException.class, e.getCause());
    assertEquals(cp.id(), c.checkpointId());
    assertEquals("m0", c.memberId());
    assertEquals(chunk.getFileName().toString(), c.chunkId());
    VerifyReport report = l.verify("g").join();
    assertFalse(report.ok());
    assertEquals(chunk.getFileName().toString(), report.problems().get(0).chunkId());
  }

  static Stream<Arguments> faults() {
    List<Arguments> cells = new ArrayList<>();
    for (CaptureMode mode : CaptureMode.values()) {
      for (Phase phase : List.of(Phase.PREPARE, Phase.QUIESCE, Phase.CUT, Phase.RESUME, Phase.TRANSFER)) {
        for (int member = 0; member < 3; member++) {
          for (Fault fault : Fault.values()) {
            cells.add(Arguments.of(mode, phase, member, fault));
          }
        }
      }
    }
    return cells.stream();
  }

  @ParameterizedTest(name = "{0} {1} member {2} {3}")
  @MethodSource("faults")
  void aFaultInAnyPhaseAbortsCleanly(CaptureMode mode, Phase phase, int member, Fault fault) {
    Lencap l = open();
    Encapsulation g = group(mode, 3);
    Checkpoint good = l.capture(g).join();
    byte[] captured = memory.devices.get("d" + member).clone();
    memory.devices.get("d" + member)[1] ^= 1;
    faulty.inject("m" + member, phase, fault);
    // A hang lasts until a timeout or the pause budget: shorter ones than group()'s, so 30 hangs take seconds.
    Encapsulation faulted = fault == Fault.HANG ? Encapsulation.builder("g").resources(g.resources())
        .policy(ResiliencyPolicy.builder().mode(mode).pauseBudget(Duration.ofMillis(500))
            .pauseGrace(Duration.ofMillis(200)).phaseTimeout(Duration.ofMillis(400)).build()).build() : g;
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> l.capture(faulted).join());
    CaptureAbortedException aborted = assertInstanceOf(CaptureAbortedException.class, e.getCause());
    assertEquals("m" + member, aborted.memberId(), aborted.getMessage());
    assertTrue(memory.quiesced.isEmpty(), "still quiesced: " + memory.quiesced);
    assertTrue(memory.snapshots.isEmpty(), "cut artefacts left: " + memory.snapshots.keySet());
    assertEquals(List.of(good.id()), l.checkpoints("g").join().stream().map(Checkpoint::id).toList());
    faulty.disarm();
    l.restore(g, good.id()).join();
    assertArrayEquals(captured, memory.devices.get("d" + member));
    assertTrue(l.verify("g").join().ok());
  }

  @Test
  void aLunCopiedInThePauseOverlapsTheOtherMembersCuts() throws Exception {
    // The VM's cut waits for the LUN's copy: it completes only if the copy starts while the VM still cuts.
    CountDownLatch lunCopying = new CountDownLatch(1);
    AtomicBoolean overlapped = new AtomicBoolean();
    Encapsulation g = lunBesideVm(c -> {
      overlapped.set(lunCopying.await(20, TimeUnit.SECONDS));
      memory.calls.add("vm:cut-done");
    }, c -> lunCopying.countDown());

    Checkpoint cp = lencap.capture(g).join();

    assertTrue(overlapped.get(), "the LUN's copy waited for the VM's cut");
    assertEquals("copy-in-pause", cp.member("lun").orElseThrow().method());
    List<String> calls = List.copyOf(memory.calls);
    // Nobody resumes before every member is cut, and the VM resumes after its storage.
    assertTrue(calls.indexOf("vm:cut-done") < calls.indexOf("lun:resume"), calls.toString());
    assertTrue(calls.indexOf("lun:resume") < calls.indexOf("vm:resume"), calls.toString());
  }

  @Test
  void aCutFailingWhileALunIsCopiedInThePauseAbortsTheCopyAndResumesEveryone() {
    CountDownLatch lunCopying = new CountDownLatch(1);
    CountDownLatch vmFailed = new CountDownLatch(1);
    Encapsulation g = lunBesideVm(c -> {
      assertTrue(lunCopying.await(20, TimeUnit.SECONDS), "the LUN's copy did not start");
      vmFailed.countDown();
      throw new IllegalStateException("the hypervisor refused the snapshot");
    }, c -> {
      lunCopying.countDown();
      assertTrue(vmFailed.await(20, TimeUnit.SECONDS)); // still copying when the VM's cut fails
      c.checkCancelled();
    });

    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> lencap.capture(g).join());

    CaptureAbortedException aborted = assertInstanceOf(CaptureAbortedException.class, e.getCause());
    assertEquals("vm", aborted.memberId(), aborted.getMessage());
    assertTrue(memory.quiesced.isEmpty(), "still quiesced: " + memory.quiesced);
    assertTrue(lencap.checkpoints("g").join().isEmpty());
    assertTrue(lencap.verify("g").join().ok());
  }

  @Test
  void aCutWhoseReleaseDoesNotDependOnTheCommitIsReleasedBeforeItAndOnce() {
    List<String> events = new CopyOnWriteArrayList<>();
    Map<String, AtomicInteger> releases = releasingOnceTransferred(memory, events);
    Encapsulation g = group(CaptureMode.NON_BLOCKING, 2);

    Checkpoint cp = lencap.capture(g).join();

    for (String m : List.of("m0", "m1")) {
      assertTrue(events.indexOf("RELEASE STARTED " + m) < events.indexOf("COMMIT STARTED null"), events.toString());
      assertEquals(1, releases.get(m).get(), m + " released more than once");
    }
    assertTrue(memory.snapshots.isEmpty(), "cut artefacts left: " + memory.snapshots.keySet());
    byte[] captured = memory.devices.get("d0").clone();
    memory.devices.get("d0")[0] ^= 1;
    lencap.restore(g, cp.id()).join();
    assertArrayEquals(captured, memory.devices.get("d0"));
  }

  @Test
  void aCaptureAbortedAfterAnEarlyReleaseReleasesEachCutOnce() {
    List<String> events = new CopyOnWriteArrayList<>();
    Map<String, AtomicInteger> releases = releasingOnceTransferred(faulty, events);
    Encapsulation g = Encapsulation.builder("g").resources(group(CaptureMode.NON_BLOCKING, 2).resources())
        .policy(ResiliencyPolicy.builder().transferConcurrency(1).build()).build(); // m0 transferred, then m1 fails
    faulty.inject("m1", Phase.TRANSFER, Fault.FAIL);

    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> lencap.capture(g).join());

    assertEquals("m1", assertInstanceOf(CaptureAbortedException.class, e.getCause()).memberId());
    assertTrue(events.contains("RELEASE STARTED m0"), "m0 was not released early: " + events);
    assertEquals(1, releases.get("m0").get(), "m0 released more than once");
    assertEquals(1, releases.get("m1").get(), "m1 released more than once");
    assertTrue(memory.snapshots.isEmpty(), "cut artefacts left: " + memory.snapshots.keySet());
    assertTrue(memory.quiesced.isEmpty());
    assertTrue(lencap.checkpoints("g").join().isEmpty());
  }

  /**
   * Opens {@link #lencap} over {@code inner}'s drivers, each saying {@link Capability#RELEASE_ONCE_TRANSFERRED};
   * {@code events} receives the release and commit phases; returns each member's count of releases.
   */
  private Map<String, AtomicInteger> releasingOnceTransferred(
      ResourceProvider inner, List<String> events) {
    Map<String, AtomicInteger> releases = new ConcurrentHashMap<>();
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(e -> {
      if (e instanceof LencapEvent.PhaseChanged p
          && (p.phase() == Phase.RELEASE || p.phase() == Phase.COMMIT)) {
        events.add(p.phase() + " " + p.status() + " " + p.memberId());
      }
    }), Clock.systemUTC()), new ProviderRegistry(List.of(new WrappedProvider(inner, d -> new ForwardingDriver(d) {
      private volatile String id;

      @Override
      public void prepare(CaptureContext c) throws Exception {
        id = c.resource().id();
        delegate.prepare(c);
      }

      @Override
      public Set<Capability> capabilities() {
        Set<Capability> c = EnumSet.copyOf(delegate.capabilities());
        c.add(Capability.RELEASE_ONCE_TRANSFERRED);
        return c;
      }

      @Override
      public void release(Cut cut) throws Exception {
        releases.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        delegate.release(cut);
      }
    }))));
    return releases;
  }

  private interface Hook {
    void run(CaptureContext c) throws Exception;
  }

  /**
   * A LUN copied in the pause and a VM with a live cut, on an engine that runs {@code vmCut} at the end of the VM's
   * cut and {@code lunCopy} at the start of the LUN's copy.
   */
  private Encapsulation lunBesideVm(Hook vmCut, Hook lunCopy) {
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(new WrappedProvider(memory, d -> new ForwardingDriver(d) {
          @Override
          public Cut cut(CaptureContext c) throws Exception {
            Cut cut = delegate.cut(c);
            if (c.resource().id().equals("vm")) {
              vmCut.run(c);
            }
            return cut;
          }

          @Override
          public void transfer(Cut cut, CaptureContext c) throws Exception {
            if (c.resource().id().equals("lun")) {
              lunCopy.run(c);
            }
            delegate.transfer(cut, c);
          }
        }))));
    memory.devices.put("lun", new byte[100_000]);
    memory.devices.put("vm", new byte[10_000]);
    memory.inPlace.add("lun");
    return Encapsulation.builder("g")
        .resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, "mem://lun"))
        .resource(Resource.of("vm", ResourceType.VIRTUAL_MACHINE, "mem://vm"))
        .policy(ResiliencyPolicy.builder().pauseBudget(Duration.ofSeconds(30)).build())
        .build();
  }

  @Test
  void aLunWhoseWritersRedirectTheirWritesIsTransferredAfterResume() {
    Lencap l = open();
    memory.devices.put("lun", new byte[100_000]);
    memory.devices.put("vm", new byte[10_000]);
    memory.inPlace.add("lun");
    Encapsulation g = Encapsulation.builder("g")
        .resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, "mem://lun"))
        .resource(Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("mem://vm").dependsOn("lun").build())
        .build();
    Checkpoint inPause = l.capture(g).join();
    assertEquals("copy-in-pause", inPause.member("lun").orElseThrow().method());
    assertTrue(memory.calls.indexOf("lun:transfer") < memory.calls.indexOf("vm:resume"), memory.calls.toString());

    memory.calls.clear();
    memory.redirects.put("vm", "mem://lun");
    Checkpoint frozen = l.capture(g).join();
    assertEquals("frozen-by-writers", frozen.member("lun").orElseThrow().method());
    assertTrue(memory.calls.indexOf("lun:transfer") > memory.calls.indexOf("vm:resume"), memory.calls.toString());
    memory.devices.put("lun", new byte[100_000]);
    memory.devices.get("lun")[7] = 1;
    l.restore(g, frozen.id()).join();
    assertEquals(0, memory.devices.get("lun")[7]);
  }

  @Test
  void aCutRedirectingWritesOfStorageOutsideTheGroupIsRefused() {
    Lencap l = open();
    memory.devices.put("vm", new byte[10_000]);
    memory.redirects.put("vm", "mem://not-a-member");
    Encapsulation g = Encapsulation.builder("g")
        .resource(Resource.of("vm", ResourceType.VIRTUAL_MACHINE, "mem://vm")).build();
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> l.capture(g).join());
    CaptureAbortedException aborted = assertInstanceOf(CaptureAbortedException.class, e.getCause());
    assertEquals("vm", aborted.memberId());
    assertTrue(aborted.getMessage().contains("mem://not-a-member"), aborted.getMessage());
    assertTrue(memory.quiesced.isEmpty());
    assertTrue(memory.snapshots.isEmpty(), "the cut was not released");
    assertTrue(l.checkpoints("g").join().isEmpty());
  }

  @Test
  void aCopyInThePauseThatOutlastsTheBudgetFailsNamingTheBudget() {
    Lencap l = open();
    memory.devices.put("lun", new byte[10_000]);
    memory.inPlace.add("lun");
    Encapsulation g = Encapsulation.builder("g").resource(Resource.of("lun", ResourceType.BLOCK_VOLUME, "mem://lun"))
        .policy(ResiliencyPolicy.builder().pauseBudget(Duration.ofMillis(300)).pauseGrace(Duration.ofSeconds(5))
            .build()).build();
    faulty.inject("lun", Phase.TRANSFER, Fault.HANG);
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> l.capture(g).join());
    assertTrue(e.getCause().getMessage().contains("the pause budget of PT0.3S was exceeded"), e.getCause().getMessage());
    assertTrue(memory.quiesced.isEmpty());
    assertTrue(l.checkpoints("g").join().isEmpty());
  }

  @Test
  void cancellingInTheMiddleOfATransferUndoesTheCapture() throws Exception {
    Lencap l = open();
    Encapsulation g = group(CaptureMode.NON_BLOCKING, 2);
    faulty.inject("m1", Phase.TRANSFER, Fault.HANG);
    var f = l.capture(g);
    faulty.awaitFault();
    assertTrue(f.cancel(true));
    org.junit.jupiter.api.Assertions.assertThrows(CancellationException.class, f::join);
    assertTrue(f.isCancelled());
    // The cancelled future completes only once everything is undone.
    assertTrue(memory.quiesced.isEmpty());
    assertTrue(l.checkpoints("g").join().isEmpty());
  }
}
