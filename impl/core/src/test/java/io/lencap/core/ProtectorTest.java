package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Failure;
import io.lencap.api.FailureKind;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Watcher;
import io.lencap.spi.tck.ForwardingProvider;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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

  @Test
  void aFailurePushedByAWatcherIsDetectedWithoutWaitingForAProbe() throws Exception {
    CompletableFuture<Consumer<Watcher.Signal>> subscribed = new CompletableFuture<>();
    CompletableFuture<Void> unsubscribed = new CompletableFuture<>();
    ResourceProvider pushing = new ForwardingProvider(memory) {
      @Override
      public Watcher watch(Resource r, ProviderContext context) {
        Watcher probing = super.watch(r, context);
        return new Watcher() {
          @Override
          public Health probe() throws Exception {
            return probing.probe();
          }

          @Override
          public AutoCloseable subscribe(Consumer<Signal> listener) {
            if (r.id().equals("a")) {
              subscribed.complete(listener);
            }
            return () -> unsubscribed.complete(null);
          }
        };
      }
    };
    Encapsulation g = Encapsulation.builder("pushed")
        .resource(Resource.of("a", ResourceType.VIRTUAL_MACHINE, "mem://a"))
        .policy(ResiliencyPolicy.builder().onFailure(Reaction.NOTIFY).probeInterval(Duration.ofHours(1))
            .failureConfirmation(Duration.ofMillis(100)).build())
        .build();
    memory.devices.put("a", new byte[] {1});
    try (Lencap l = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(events::add), Clock.systemUTC()), new ProviderRegistry(List.of(pushing)))) {
      Protection p = l.protect(g);
      Consumer<Watcher.Signal> listener = subscribed.get(10, TimeUnit.SECONDS);
      CompletableFuture<LencapEvent.FailureDetected> detected = next(LencapEvent.FailureDetected.class, l);
      memory.devices.remove("a");
      listener.accept(Watcher.Signal.failed("a", FailureKind.CRASHED, "the domain crashed", Instant.now()));
      Failure f = detected.get(10, TimeUnit.SECONDS).failure(); // an hour before the first probe
      assertEquals("a", f.memberId());
      assertEquals(FailureKind.CRASHED, f.kind());
      assertTrue(f.detail().contains("the domain crashed"), f.detail());
      p.close();
      unsubscribed.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aProbeThatNeverAnswersIsAFailureAndHoldsUpNoOtherMember() throws Exception {
    java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger callsOfA = new java.util.concurrent.atomic.AtomicInteger();
    ResourceProvider hanging = new ForwardingProvider(memory) {
      @Override
      public Watcher watch(Resource r, ProviderContext context) {
        Watcher probing = super.watch(r, context);
        return r.id().equals("a") ? () -> {
          callsOfA.incrementAndGet();
          never.await(); // a remote host whose link was cut: the call blocks
          return Health.healthy();
        } : probing;
      }
    };
    try (Lencap l = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(events::add), Clock.systemUTC()), new ProviderRegistry(List.of(hanging)))) {
      CompletableFuture<LencapEvent.FailureDetected> detected = next(LencapEvent.FailureDetected.class, l);
      l.protect(group(Reaction.NOTIFY));
      Failure f = detected.get(30, TimeUnit.SECONDS).failure();
      assertEquals("a", f.memberId());
      assertTrue(f.detail().contains("no answer to a probe within PT0.3S"), f.detail());
      awaitProbeRounds(3); // b is still probed while a's call hangs
      assertEquals(1, callsOfA.get(), "a blocked call is not stacked up with more");
    } finally {
      never.countDown();
    }
  }
}
