package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.DrillSchedule;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Placement;
import io.lencap.api.Protection;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a protection drills (a counted or timed {@link DrillSchedule}), and that its drills run and are reported. */
class ProtectionDrillsTest {
  @TempDir
  Path store;

  static final Encapsulation GROUP = Encapsulation.builder("g")
      .resource(Resource.of("disk", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
  static final ProviderRegistry NO_PROVIDERS = new ProviderRegistry(List.of());
  static final DrillPlan PLAN = DrillPlan.builder()
      .sandbox(Placement.builder().move("disk", URI.create("mem://sandbox")).build()).build();

  /** A clock the test moves. */
  static final class MovableClock extends Clock {
    Instant now = Instant.parse("2026-12-02T00:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void everyThirdCaptureIsDrilled() {
    ProtectionDrills d = new ProtectionDrills(null, GROUP, DrillSchedule.everyCaptures(3, PLAN), NO_PROVIDERS, Clock.systemUTC());
    List<Boolean> due = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      due.add(d.due());
    }
    assertEquals(List.of(false, false, true, false, false, true, false), due);
  }

  @Test
  void aTimedScheduleDrillsTheFirstCaptureOnceTheIntervalPassed() {
    MovableClock clock = new MovableClock();
    ProtectionDrills d = new ProtectionDrills(null, GROUP, DrillSchedule.every(Duration.ofHours(1), PLAN), NO_PROVIDERS, clock);
    assertTrue(d.due(), "the first capture of a protection is drilled");
    clock.now = clock.now.plus(Duration.ofMinutes(59));
    assertEquals(false, d.due());
    clock.now = clock.now.plus(Duration.ofMinutes(1));
    assertTrue(d.due(), "an hour after the last drill started");
    clock.now = clock.now.plus(Duration.ofMinutes(30));
    assertEquals(false, d.due());
  }

  @Test
  void aScheduleIsValidatedNamingTheField() {
    assertEquals("policy.drills.everyCaptures", assertThrows(InvalidSpecException.class,
        () -> DrillSchedule.everyCaptures(0, PLAN)).field());
    assertEquals("policy.drills.every", assertThrows(InvalidSpecException.class,
        () -> DrillSchedule.every(Duration.ZERO, PLAN)).field());
    DrillPlan onTheGroup = DrillPlan.builder()
        .sandbox(Placement.builder().move("disk", URI.create("mem://d0")).build()).build();
    assertEquals("placement.disk", assertThrows(InvalidSpecException.class, () -> new ProtectionDrills(null, GROUP,
        DrillSchedule.everyCaptures(1, onTheGroup), NO_PROVIDERS, Clock.systemUTC())).field());
  }

  private Lencap open(MemoryProvider memory, BlockingQueue<DrillReport> drilled) {
    return Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(e -> {
          if (e instanceof LencapEvent.Drilled d) {
            drilled.add(d.report());
          }
        }), Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
  }

  @Test
  void aProtectionDrillsOnItsScheduleAndPublishesEachReport() throws Exception {
    MemoryProvider memory = new MemoryProvider();
    memory.devices.put("d0", new byte[8192]);
    BlockingQueue<DrillReport> drilled = new LinkedBlockingQueue<>();
    Encapsulation group = Encapsulation.builder("g").resources(GROUP.resources()).policy(ResiliencyPolicy.builder()
        .drills(DrillSchedule.everyCaptures(2, PLAN)).build()).build();
    try (Lencap lencap = open(memory, drilled)) {
      Protection p = lencap.protect(group);
      List<String> ids = new ArrayList<>();
      List<DrillReport> reports = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        memory.devices.get("d0")[i] = 1;
        ids.add(p.captureNow().join().id());
        if (i % 2 == 1) {
          reports.add(drilled.poll(30, TimeUnit.SECONDS)); // the drill runs on after the capture completed
        }
      }
      p.close();
      assertEquals(List.of(ids.get(1), ids.get(3)), reports.stream().map(DrillReport::checkpointId).toList());
      assertTrue(reports.stream().allMatch(DrillReport::passed), reports.toString());
      assertEquals(List.of("sandbox", "sandbox"), memory.discarded);
      assertEquals(List.of("d0"), List.copyOf(memory.devices.keySet()));
    }
  }

  @Test
  void aRunningDrillNeverHoldsUpTheNextCaptureAndNoSecondDrillStartsMeanwhile() throws Exception {
    MemoryProvider memory = new MemoryProvider();
    memory.devices.put("d0", new byte[8192]);
    BlockingQueue<DrillReport> drilled = new LinkedBlockingQueue<>();
    CountDownLatch checking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    DrillPlan slow = DrillPlan.builder().sandbox(PLAN.sandbox()).check(s -> {
      checking.countDown();
      release.await();
      return "released";
    }).build();
    Encapsulation group = Encapsulation.builder("g").resources(GROUP.resources()).policy(ResiliencyPolicy.builder()
        .drills(DrillSchedule.everyCaptures(1, slow)).build()).build();
    try (Lencap lencap = open(memory, drilled)) {
      Protection p = lencap.protect(group);
      String first = p.captureNow().get(30, TimeUnit.SECONDS).id();
      assertTrue(checking.await(30, TimeUnit.SECONDS), "the drill did not reach its check");
      memory.devices.get("d0")[0] = 1;
      String second = p.captureNow().get(30, TimeUnit.SECONDS).id(); // while the drill's check still runs
      assertTrue(drilled.isEmpty());
      release.countDown();
      DrillReport r = drilled.poll(30, TimeUnit.SECONDS);
      p.close();
      assertEquals(first, r.checkpointId());
      assertTrue(r.passed(), r.toString());
      assertEquals(2, lencap.checkpoints("g").join().size(), second);
      assertEquals(List.of("sandbox"), memory.discarded, "a second drill ran into the first one's sandbox");
    }
  }
}
