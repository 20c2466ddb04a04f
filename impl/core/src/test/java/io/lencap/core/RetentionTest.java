package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.tck.ForwardingDriver;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention through the engine: a policy applied after every commit of a two-year history (an injected
 * clock) leaves what the rule applied once to the whole history keeps, plus the protected checkpoints; a
 * dry run plans what the real run then does; protection is stored with the checkpoint.
 */
class RetentionTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
  Engine lencap;

  static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  Engine open(io.lencap.spi.ResourceProvider provider) {
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        clock);
    lencap = Engine.open(settings, new ProviderRegistry(List.of(provider)));
    return lencap;
  }

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
  }

  Encapsulation group(Retention retention) {
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .policy(ResiliencyPolicy.builder().retention(retention).build()).build();
  }

  void write(Random random) {
    byte[] data = new byte[8 * 1024];
    random.nextBytes(data);
    memory.devices.put("d0", data);
  }

  @Test
  void aPolicyAppliedAfterEveryCommitKeepsWhatTheRuleKeepsOfTheWholeHistory() {
    open(memory);
    Retention retention = Retention.builder().keepLast(2).keepHourly(3).keepDaily(5).keepWeekly(4)
        .keepMonthly(6).keepYearly(2).zone(ZoneId.of("Europe/Berlin")).build();
    Encapsulation g = group(retention);
    Random random = new Random(11);
    long[] gaps = {25 * 60, 20 * 3600, 6 * 86400, 14 * 86400}; // about 140 captures
    List<CalendarRetention.Point> history = new ArrayList<>();
    Set<String> isProtected = new HashSet<>();
    Instant end = clock.now.plus(Duration.ofDays(730));
    while (clock.now.isBefore(end)) {
      write(random);
      Checkpoint cp = lencap.capture(g).join();
      history.add(new CalendarRetention.Point(cp.id(), cp.recoveryLine()));
      if (history.size() % 40 == 7) {
        lencap.setProtected("g", cp.id(), true).join();
        isProtected.add(cp.id());
      }
      clock.now = clock.now.plusSeconds(gaps[random.nextInt(gaps.length)] + random.nextInt(3600));
    }
    assertTrue(history.size() > 100, history.size() + " captures");

    Set<String> expected = CalendarRetentionTest.reference(history, retention);
    expected.addAll(isProtected);
    assertEquals(expected, ids(lencap.checkpoints("g").join()));
    assertEquals(isProtected, new HashSet<>(lencap.protectedCheckpoints("g").join()));
    assertTrue(lencap.verify("g").join().ok());
  }

  @Test
  void aDryRunPlansWhatTheRealRunDoes() throws Exception {
    open(memory);
    Encapsulation g = group(Retention.keepAll());
    Random random = new Random(3);
    for (int i = 0; i < 30; i++) {
      write(random);
      lencap.capture(g).join();
      clock.now = clock.now.plus(Duration.ofHours(7));
    }
    List<Checkpoint> all = lencap.checkpoints("g").join();
    lencap.setProtected("g", all.get(2).id(), true).join();
    Retention tighter = Retention.builder().keepLast(1).keepDaily(3).build();

    RetentionPlan dry = lencap.prune("g", tighter, true).join();
    assertEquals(30, lencap.checkpoints("g").join().size(), "a dry run deleted something");
    RetentionPlan real = lencap.prune("g", tighter, false).join();

    assertEquals(dry.decisions(), real.decisions());
    assertTrue(dry.dryRun());
    assertFalse(real.dryRun());
    assertEquals(new HashSet<>(real.kept()), ids(lencap.checkpoints("g").join()));
    assertEquals(List.of("protected"), real.decisions().get(2).reasons());
    assertEquals(4, real.kept().size(), real.decisions().toString()); // 3 days (the newest also last 1) + protected
    assertTrue(lencap.verify("g").join().ok());
    // The deleted checkpoints' chunks were collected: only the kept ones' remain.
    assertEquals(0, lencap.store().collect().deleted());
  }

  @Test
  void protectionIsStoredWithTheCheckpointAndRefusesDelete() {
    open(memory);
    Encapsulation g = group(Retention.keepAll());
    write(new Random(1));
    Checkpoint first = lencap.capture(g).join();
    lencap.setProtected("g", first.id(), true).join();
    lencap.close();

    open(memory); // another process
    assertEquals(List.of(first.id()), lencap.protectedCheckpoints("g").join());
    CompletionException refused = assertThrows(CompletionException.class, () -> lencap.delete("g", first.id()).join());
    assertTrue(refused.getCause().getMessage().contains("protected"), refused.getCause().getMessage());
    RetentionPlan plan = lencap.prune("g", Retention.builder().keepLast(1).build(), false).join();
    clock.now = clock.now.plusSeconds(60);
    write(new Random(2));
    lencap.capture(g).join();
    plan = lencap.prune("g", Retention.builder().keepLast(1).build(), false).join();
    assertEquals(2, plan.kept().size(), plan.toString());

    lencap.setProtected("g", first.id(), false).join();
    assertEquals(List.of(), lencap.protectedCheckpoints("g").join());
    lencap.delete("g", first.id()).join();
    assertEquals(1, lencap.checkpoints("g").join().size());

    CompletionException missing = assertThrows(CompletionException.class,
        () -> lencap.setProtected("g", first.id(), true).join());
    assertInstanceOf(NotFoundException.class, missing.getCause());
    assertEquals(List.of(), lencap.protectedCheckpoints("g").join());
  }

  /**
   * A capture whose parent retention deletes, and whose parent's chunks a collection then takes, while the
   * capture transfers: it still commits a whole checkpoint (its reused chunks are proven at commit, or it
   * fails and commits nothing), and every checkpoint left verifies.
   */
  @Test
  void retentionAndCollectionDuringACaptureLeaveNoBrokenCheckpoint() throws Exception {
    CountDownLatch transferring = new CountDownLatch(1);
    CountDownLatch pruned = new CountDownLatch(1);
    boolean[] hold = {false};
    open(new WrappedProvider(memory, d -> new ForwardingDriver(d) {
      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        if (hold[0]) {
          transferring.countDown();
          assertTrue(pruned.await(30, TimeUnit.SECONDS));
        }
        delegate.transfer(cut, c);
      }
    }));
    Encapsulation g = group(Retention.keepAll());
    Random random = new Random(4);
    write(random);
    lencap.capture(g).join();
    clock.now = clock.now.plusSeconds(60);
    write(random);
    Checkpoint parent = lencap.capture(g).join();
    clock.now = clock.now.plusSeconds(60);
    byte[] data = memory.devices.get("d0").clone();
    data[0] ^= 1; // a small change: the next capture reuses most chunks of its parent
    memory.devices.put("d0", data);
    hold[0] = true;
    CompletableFuture<Checkpoint> child = lencap.capture(g);
    assertTrue(transferring.await(30, TimeUnit.SECONDS));
    RetentionPlan plan = lencap.prune("g", Retention.builder().keepLast(1).build(), false).join();
    assertEquals(List.of(parent.id()), plan.kept());
    lencap.delete("g", parent.id()).join(); // and its chunks collected, while the child transfers
    pruned.countDown();
    Checkpoint cp;
    try {
      cp = child.join();
    } catch (CompletionException e) {
      assertInstanceOf(LencapException.class, e.getCause());
      assertTrue(lencap.checkpoints("g").join().isEmpty());
      return;
    }
    assertEquals(List.of(cp.id()), lencap.checkpoints("g").join().stream().map(Checkpoint::id).toList());
    assertTrue(lencap.verify("g").join().ok(), lencap.verify("g").join().problems().toString());
    memory.devices.put("d0", new byte[0]);
    lencap.restore(g, cp.id()).join();
    assertEquals(data.length, memory.devices.get("d0").length);
  }

  static Set<String> ids(List<Checkpoint> checkpoints) {
    return checkpoints.stream().map(Checkpoint::id).collect(Collectors.toSet());
  }
}
