package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProtectorTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  final List<LencapEvent> events = new CopyOnWriteArrayList<>();

  Lencap open() {
    return Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(events::add), Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
  }

  Encapsulation group(Reaction reaction) {
    memory.devices.put("a", new byte[] {1, 2, 3});
    memory.devices.put("b", new byte[] {4, 5, 6});
    return Encapsulation.builder("guarded")
        .resource(Resource.of("a", ResourceType.VIRTUAL_MACHINE, "mem://a"))
        .resource(Resource.of("b", ResourceType.BLOCK_VOLUME, "mem://b"))
        .policy(ResiliencyPolicy.builder().onFailure(reaction).probeInterval(Duration.ofMillis(50))
            .failureConfirmation(Duration.ofMillis(300)).restoreBackoff(Duration.ofMillis(50)).build())
        .build();
  }

  <T extends LencapEvent> CompletableFuture<T> next(Class<T> type, Lencap l) {
    CompletableFuture<T> f = new CompletableFuture<>();
    l.addListener(e -> {
      if (type.isInstance(e)) {
        f.complete(type.cast(e));
      }
    });
    return f;
  }

  @Test
  void aFailedMemberBringsTheWholeGroupBack() throws Exception {
    try (Lencap l = open()) {
      Protection p = l.protect(group(Reaction.RESTORE_IN_PLACE));
      Checkpoint cp = p.captureNow().join();
      memory.devices.put("b", new byte[] {9, 9, 9}); // the group moved on after the checkpoint
      awaitProbeRounds(3); // and ran past the checkpoint for a few probes before a failure
      CompletableFuture<LencapEvent.Recovered> recovered = next(LencapEvent.Recovered.class, l);
      memory.devices.remove("a"); // member a dies
      LencapEvent.Recovered r = recovered.get(30, TimeUnit.SECONDS);
      assertEquals("a", r.failure().memberId());
      assertEquals(cp.id(), r.checkpointId());
      assertArrayEquals(new byte[] {1, 2, 3}, memory.devices.get("a"));
      assertArrayEquals(new byte[] {4, 5, 6}, memory.devices.get("b"), "the whole group goes back, not only a");
      assertEquals(1, events.stream().filter(e -> e instanceof LencapEvent.FailureDetected).count());
    }
  }

  void awaitProbeRounds(int rounds) throws InterruptedException {
    int target = memory.probes.get() + 2 * rounds;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (memory.probes.get() < target && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // the probes run on Lencap's timer; we count them, not time
    }
    assertTrue(memory.probes.get() >= target, "the protection stopped probing");
  }

  @Test
  void aBriefOutageWithinTheConfirmationWindowIsNotAFailure() throws Exception {
    try (Lencap l = open()) {
      Protection p = l.protect(group(Reaction.RESTORE_IN_PLACE));
      p.captureNow().join();
      CompletableFuture<LencapEvent.FailureDetected> failure = next(LencapEvent.FailureDetected.class, l);
      byte[] a = memory.devices.remove("a");
      assertEquals("a", memory.missingSeen.get(10, TimeUnit.SECONDS)); // a probe saw it gone: suspected
      memory.devices.put("a", a); // back well within the 300 ms confirmation window
      // No failure may follow: wait past the window (and a few probes) for one that must not come.
      assertTrue(failure.completeOnTimeout(null, 1, TimeUnit.SECONDS).get() == null,
          "a brief outage was taken for a failure");
    }
  }

  @Test
  void aNewProcessStartsNoProtectionFromTheStore() {
    try (Lencap first = open()) {
      first.protect(group(Reaction.RESTORE_IN_PLACE));
    }
    try (Lencap second = open()) {
      assertTrue(second.protections().isEmpty(), "stored data started a protection the application did not ask for");
      second.protect(group(Reaction.NOTIFY)).close(); // the application protects again what it declares
    }
  }

}
