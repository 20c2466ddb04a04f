package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.tck.FaultInjectingProvider;
import io.lencap.spi.tck.FaultInjectingProvider.Fault;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Lencap#drill} over in-memory devices: restored apart, probed, checked, removed; the group untouched. */
class DrillTest {
  private static final ProviderRegistry NO_PROVIDERS = new ProviderRegistry(List.of());
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  final FaultInjectingProvider faulty = new FaultInjectingProvider(memory);
  final List<LencapEvent.Drilled> drilled = new CopyOnWriteArrayList<>();
  Lencap lencap;
  Encapsulation group;
  Checkpoint cp;
  byte[] d0;
  byte[] d1;

  @BeforeEach
  void captureAGroup() {
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(e -> {
          if (e instanceof LencapEvent.Drilled d) {
            drilled.add(d);
          }
        }), Clock.systemUTC()), new ProviderRegistry(List.of(faulty)));
    Random random = new Random(3);
    for (int i = 0; i < 2; i++) {
      byte[] data = new byte[32 * 1024];
      random.nextBytes(data);
      memory.devices.put("d" + i, data);
    }
    group = Encapsulation.builder("g")
        .resource(Resource.of("vm", ResourceType.VIRTUAL_MACHINE, "mem://d0"))
        .resource(Resource.builder("disk").type(ResourceType.BLOCK_VOLUME).locator("mem://d1").build())
        .policy(ResiliencyPolicy.builder().build()).build();
    cp = lencap.capture(group).join();
    memory.devices.get("d1")[7] ^= 1; // the group moved on since: a drill must not bring it back
    d0 = memory.devices.get("d0").clone();
    d1 = memory.devices.get("d1").clone();
  }

  @AfterEach
  void close() {
    memory.release();
    lencap.close();
  }

  private static Placement sandbox() {
    return Placement.builder().move("vm", URI.create("mem://s0")).move("disk", URI.create("mem://s1")).build();
  }

  @Test
  void restoresProbesChecksAndRemovesTheSandboxLeavingTheGroup() {
    byte[][] seen = new byte[1][];
    DrillReport r = lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(sandbox()).check(s -> {
      assertEquals(URI.create("mem://s1"), s.resource("disk").orElseThrow().locator());
      seen[0] = memory.devices.get("s1").clone();
      return "s1 holds " + seen[0].length + " bytes";
    }).build()).join();

    assertTrue(r.passed(), r.toString());
    assertEquals(List.of("vm", "disk"), r.members().stream().map(DrillReport.Member::id).toList());
    assertTrue(r.members().stream().allMatch(m -> m.detail().startsWith("healthy")), r.toString());
    assertEquals("s1 holds 32768 bytes", r.check().orElseThrow().detail());
    byte[] captured = d1.clone();
    captured[7] ^= 1;
    assertArrayEquals(captured, seen[0], "the sandbox did not hold the checkpoint's state");
    assertEquals(List.of("s0", "s1"), memory.discarded, "the writer is removed before its storage");
    assertFalse(memory.devices.containsKey("s0") || memory.devices.containsKey("s1"), "the sandbox is left");
    assertArrayEquals(d0, memory.devices.get("d0"));
    assertArrayEquals(d1, memory.devices.get("d1"), "the drill touched the group");
    assertTrue(r.removed());
    assertEquals(cp.id(), r.checkpointId());
    assertEquals(1, drilled.size());
    assertEquals(r, drilled.get(0).report());
  }

  @Test
  void refusesASandboxOnTheGroupBeforeRestoringAnything() {
    InvalidSpecException onOther = drillFails(InvalidSpecException.class,
        Placement.builder().move("vm", URI.create("mem://s0")).move("disk", URI.create("mem://d0")).build());
    assertEquals("placement.disk", onOther.field());
    assertTrue(onOther.getMessage().contains("member vm of the group"), onOther.getMessage());
    InvalidSpecException notMoved = drillFails(InvalidSpecException.class,
        Placement.builder().move("disk", URI.create("mem://s1")).build());
    assertEquals("placement.vm", notMoved.field());
    assertEquals(List.of("d0", "d1"), memory.devices.keySet().stream().sorted().toList(), "something was restored");
    assertTrue(drilled.isEmpty());
  }

  @Test
  void refusesNestedTrees() {
    Resource tree = Resource.of("t", ResourceType.FILE_TREE, "file:///srv/job/data");
    Encapsulation g = Encapsulation.builder("trees").resource(tree).build();
    for (String target : List.of("file:///srv/job/data/", "file:///srv/job/data/drill", "file:///srv/job")) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> DrillSandbox.of(g,
          Placement.builder().move("t", URI.create(target)).build(), NO_PROVIDERS), target);
      assertEquals("placement.t", e.field());
    }
    assertEquals(URI.create("file:///srv/job/data-drill"), DrillSandbox.of(g, Placement.builder().move("t",
        URI.create("file:///srv/job/data-drill")).build(), NO_PROVIDERS).get("t").locator());
  }

  @Test
  void aVmIsApartByItsDomainName() {
    Resource vm = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "rank0").build();
    Encapsulation g = Encapsulation.builder("vms").resource(vm).build();
    assertThrows(InvalidSpecException.class, () -> DrillSandbox.of(g, Placement.builder().move("vm",
        URI.create("qemu:///system"), Map.of("restore.directory", "/var/lib/drill")).build(), NO_PROVIDERS));
    assertEquals(Optional.of("rank0-drill"), DrillSandbox.of(g, Placement.builder().move("vm",
        URI.create("qemu:///system"), Map.of("domain", "rank0-drill")).build(), NO_PROVIDERS).get("vm").property("domain"));
  }

  @Test
  void aFailingCheckFailsTheDrillAndTheSandboxIsStillRemoved() {
    DrillReport r = lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(sandbox()).check(s -> {
      throw new IllegalStateException("job did not answer");
    }).build()).join();
    assertFalse(r.passed());
    assertTrue(r.members().stream().allMatch(DrillReport.Member::passed));
    assertEquals("job did not answer", r.check().orElseThrow().detail());
    assertTrue(r.removed());
    assertFalse(memory.devices.containsKey("s0") || memory.devices.containsKey("s1"));
  }

  /** The group with a short phase timeout: the deadline of each phase of its drills. */
  private Encapsulation withPhaseTimeout(Duration timeout) {
    return Encapsulation.builder(group.name()).resources(group.resources())
        .policy(ResiliencyPolicy.builder().phaseTimeout(timeout).build()).build();
  }

  private DrillReport drillWithin(Encapsulation g, DrillPlan plan) throws Exception {
    return lencap.drill(g, cp.id(), plan).get(30, TimeUnit.SECONDS); // a drill without deadlines hangs here
  }

  @Test
  void aHungProbeFailsItsMemberByTheDeadlineNamingMemberAndPhase() throws Exception {
    memory.hangs.add("s0:probe");
    DrillReport r = drillWithin(withPhaseTimeout(Duration.ofSeconds(1)), DrillPlan.builder().sandbox(sandbox())
        .check(s -> "ran").build());
    assertFalse(r.passed());
    DrillReport.Member vm = r.members().get(0);
    assertFalse(vm.passed());
    assertTrue(vm.detail().contains("member vm in probe took longer than PT1S"), vm.detail());
    assertTrue(r.members().get(1).passed(), r.toString());
    assertEquals(Optional.empty(), r.check(), "the check runs only on a sandbox that probed healthy");
    assertTrue(r.removed(), r.toString());
    assertEquals(List.of("s0:probe"), memory.interruptedOnce("s0:probe"),
        "the hung probe's thread was not interrupted");
  }

  @Test
  void aHungCheckFailsTheDrillByTheDeadlineAndTheSandboxIsStillRemoved() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    DrillReport r = drillWithin(withPhaseTimeout(Duration.ofSeconds(1)), DrillPlan.builder().sandbox(sandbox())
        .check(s -> {
          never.await();
          return "never";
        }).build());
    assertFalse(r.passed());
    assertTrue(r.members().stream().allMatch(DrillReport.Member::passed), r.toString());
    DrillReport.CheckResult check = r.check().orElseThrow();
    assertFalse(check.passed());
    assertTrue(check.detail().contains("the check of the sandbox took longer than PT1S"), check.detail());
    assertTrue(r.removed(), r.toString());
    assertFalse(memory.devices.containsKey("s0") || memory.devices.containsKey("s1"));
  }

  @Test
  void aHungRemovalIsNamedAndTheOtherMembersAreStillRemoved() throws Exception {
    memory.hangs.add("s0:discard");
    DrillReport r = drillWithin(withPhaseTimeout(Duration.ofSeconds(1)), DrillPlan.builder().sandbox(sandbox()).build());
    assertFalse(r.passed());
    assertEquals(1, r.left().size(), r.toString());
    assertTrue(r.left().get(0).startsWith("vm at mem://s0: member vm in discard took longer than PT1S"),
        r.left().get(0));
    assertEquals(List.of("s1"), memory.discarded, "the storage after the hung writer was not removed");
    assertEquals(List.of("s0:discard"), memory.interruptedOnce("s0:discard"));
    assertArrayEquals(d1, memory.devices.get("d1"));
  }

  @Test
  void theGroupCapturesAndRestoresWhileADrillRestoresItsSandbox() throws Exception {
    faulty.inject("disk", Phase.RESTORE, Fault.HANG); // the sandbox's restore hangs until its phase timeout
    Encapsulation g = withPhaseTimeout(Duration.ofSeconds(5)); // room for the group's own capture and restore
    CompletableFuture<DrillReport> drill = lencap.drill(g, cp.id(), DrillPlan.builder().sandbox(sandbox()).build());
    faulty.awaitFault();
    Checkpoint next = lencap.capture(g).get(30, TimeUnit.SECONDS);
    lencap.restore(g, next.id(), Placement.inPlace()).get(30, TimeUnit.SECONDS);
    assertFalse(drill.isDone(), "the drill's restore was meant to still run");
    assertArrayEquals(d1, memory.devices.get("d1"), "the group's own restore went wrong");

    DrillReport r = drill.get(30, TimeUnit.SECONDS);
    assertTrue(r.restoreError().orElseThrow().contains("took longer than PT5S"), r.toString());
    assertTrue(r.removed(), r.toString());
    assertArrayEquals(d1, memory.devices.get("d1"), "the drill touched the group");
    assertEquals(List.of(cp.id(), next.id()), lencap.checkpoints("g").join().stream().map(Checkpoint::id).toList());
  }

  @Test
  void oneDrillOfAGroupAtATime() throws Exception {
    faulty.inject("disk", Phase.RESTORE, Fault.HANG);
    Encapsulation g = withPhaseTimeout(Duration.ofSeconds(2));
    CompletableFuture<DrillReport> first = lencap.drill(g, cp.id(), DrillPlan.builder().sandbox(sandbox()).build());
    faulty.awaitFault();
    ExecutionException second = assertThrows(ExecutionException.class, () -> lencap.drill(g, cp.id(),
        DrillPlan.builder().sandbox(sandbox()).build()).get(30, TimeUnit.SECONDS));
    assertTrue(second.getCause().getMessage().startsWith("cannot drill g now: drill "), second.getCause().toString());
    assertFalse(first.isDone());
    assertEquals(List.of(), memory.discarded, "the second drill removed the first one's sandbox");
    assertTrue(first.get(30, TimeUnit.SECONDS).removed());
  }

  @Test
  void aFailedRestoreIsReportedAndWhatItMadeRemoved() {
    faulty.inject("disk", Phase.RESTORE, Fault.FAIL);
    DrillReport r = lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(sandbox()).build()).join();
    assertFalse(r.passed());
    assertTrue(r.restoreError().isPresent());
    assertTrue(r.members().stream().noneMatch(DrillReport.Member::passed));
    assertFalse(memory.devices.containsKey("s0") || memory.devices.containsKey("s1"));
    assertArrayEquals(d1, memory.devices.get("d1"));
    assertEquals(1, drilled.size());
    // The failed restore's record was the sandbox's: the group captures and repairs as if no drill had run.
    lencap.repair(group).join();
    assertEquals(2, lencap.capture(group).thenCompose(c -> lencap.checkpoints("g")).join().size());
    assertTrue(memory.quiesced.isEmpty());
  }

  @Test
  void aFailedRestoreForgetsOnlyItsOwnRecord() throws Exception {
    Engine engine = (Engine) lencap;
    // Another operation's record of the same group, checkpoint and process, its lease gone: not the drill's to forget.
    JournalRecord other = JournalRecord.drill("other-drill", "g", cp.id(), engine.owner(),
        Instant.now().plusSeconds(3600), List.of());
    engine.store().record(other);
    faulty.inject("disk", Phase.RESTORE, Fault.FAIL);
    DrillReport r = lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(sandbox()).build()).join();
    assertTrue(r.restoreError().isPresent(), r.toString());
    assertEquals(List.of("other-drill"), engine.store().journal().stream().map(JournalRecord::operationId).toList(),
        "the drill forgot another operation's record, or kept its own");
  }

  @Test
  void aProviderThatCannotRemoveIsRefusedUnlessTheSandboxIsKept() {
    memory.discards = false;
    InvalidSpecException e = drillFails(InvalidSpecException.class, sandbox());
    assertEquals("placement.vm", e.field());
    assertEquals(List.of("d0", "d1"), memory.devices.keySet().stream().sorted().toList());

    DrillReport kept = lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(sandbox()).keep(true).build()).join();
    assertTrue(kept.passed(), kept.toString());
    assertTrue(kept.kept());
    assertFalse(kept.removed());
    assertTrue(memory.devices.containsKey("s0") && memory.devices.containsKey("s1"));
  }

  @Test
  void anUnknownCheckpointIsNotFound() {
    CompletionException e = assertThrows(CompletionException.class,
        () -> lencap.drill(group, "nope", DrillPlan.builder().sandbox(sandbox()).build()).join());
    assertInstanceOf(NotFoundException.class, e.getCause());
  }

  private <T extends Throwable> T drillFails(Class<T> type, Placement placement) {
    CompletionException e = assertThrows(CompletionException.class,
        () -> lencap.drill(group, cp.id(), DrillPlan.builder().sandbox(placement).build()).join());
    return assertInstanceOf(type, e.getCause());
  }
}
