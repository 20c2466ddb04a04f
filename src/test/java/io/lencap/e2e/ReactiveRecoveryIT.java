package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reactive resiliency on real libvirt + QEMU: a killed guest brings the whole group back; a brief pause does not. */
class ReactiveRecoveryIT {
  static final List<String> RANKS = List.of("it-rank0", "it-rank1");
  static CounterGuests guests;

  @TempDir
  Path store;

  @BeforeAll
  static void guests() throws Exception {
    CounterGuests found = CounterGuests.inProject();
    Optional<String> missing = found.unavailable();
    if (missing.isPresent() && Boolean.getBoolean("lencap.it.require")) {
      throw new AssertionError(missing.get());
    }
    Assumptions.assumeTrue(missing.isEmpty(), () -> missing.get());
    guests = found;
    for (String r : RANKS) {
      guests.start(r);
    }
    for (String r : RANKS) {
      guests.guest(r).awaitCounterAbove(1, Duration.ofMinutes(3));
    }
  }

  @AfterAll
  static void remove() throws Exception {
    if (guests != null) {
      for (String r : RANKS) {
        guests.remove(r);
      }
    }
  }

  static Encapsulation group(Duration confirmation) {
    Encapsulation.Builder b = Encapsulation.builder("ranks").policy(ResiliencyPolicy.builder()
        .onFailure(Reaction.RESTORE_IN_PLACE).probeInterval(Duration.ofSeconds(1))
        .failureConfirmation(confirmation).build());
    RANKS.forEach(r -> b.resource(guests.resource(r)));
    return b.build();
  }

  static <T extends LencapEvent> CompletableFuture<T> next(Lencap l, Class<T> type) {
    CompletableFuture<T> f = new CompletableFuture<>();
    l.addListener(e -> {
      if (type.isInstance(e)) {
        f.complete(type.cast(e));
      }
    });
    return f;
  }

  @Test
  void aKilledGuestBringsTheWholeGroupBackToTheRecoveryLine() throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Protection p = lencap.protect(group(Duration.ofSeconds(2)));
      int[] before = new int[RANKS.size()];
      int[] after = new int[RANKS.size()];
      for (int i = 0; i < RANKS.size(); i++) {
        before[i] = guests.guest(RANKS.get(i)).counter().orElseThrow();
      }
      Checkpoint cp = p.captureNow().get(5, TimeUnit.MINUTES);
      for (int i = 0; i < RANKS.size(); i++) {
        after[i] = guests.guest(RANKS.get(i)).counter().orElseThrow();
      }
      // Run on past the checkpoint, then kill rank1's QEMU.
      guests.guest(RANKS.get(1)).awaitCounterAbove(after[1] + 4, Duration.ofMinutes(2));
      int[] printed = new int[RANKS.size()];
      for (int i = 0; i < RANKS.size(); i++) {
        printed[i] = guests.guest(RANKS.get(i)).counters().size();
      }
      CompletableFuture<LencapEvent.FailureDetected> failure = next(lencap, LencapEvent.FailureDetected.class);
      CompletableFuture<LencapEvent.Recovered> recovered = next(lencap, LencapEvent.Recovered.class);
      new ProcessBuilder("kill", "-9", Long.toString(guests.guest(RANKS.get(1)).qemuPid())).start().waitFor();

      assertEquals(RANKS.get(1), failure.get(2, TimeUnit.MINUTES).failure().memberId());
      assertEquals(cp.id(), recovered.get(5, TimeUnit.MINUTES).checkpointId());
      for (int i = 0; i < RANKS.size(); i++) {
        long first = guests.guest(RANKS.get(i)).awaitStepBack(printed[i], Duration.ofMinutes(1));
        assertTrue(first >= before[i] && first <= after[i] + 1, RANKS.get(i) + " went on from " + first
            + ", not from the recovery line (counters " + before[i] + ".." + after[i] + " around the cut)");
      }
      p.close();
    }
  }

  @Test
  void aBriefPauseIsNotAFailure() throws Exception {
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Protection p = lencap.protect(group(Duration.ofSeconds(4)));
      p.captureNow().get(5, TimeUnit.MINUTES);
      CompletableFuture<LencapEvent.FailureDetected> failure = next(lencap, LencapEvent.FailureDetected.class);
      String rank = RANKS.get(0);
      virsh("suspend", rank);
      CounterGuest rank1 = guests.guest(RANKS.get(1));
      rank1.awaitCounterAbove(rank1.lastCounter() + 1, Duration.ofMinutes(1));
      virsh("resume", rank); // paused for about a second: well within the 4 s confirmation
      int resumed = guests.guest(rank).lastCounter();
      // No failure may follow: wait past the confirmation window for one that must not come.
      assertNull(failure.completeOnTimeout(null, 8, TimeUnit.SECONDS).get(), "a brief pause was taken for a failure");
      guests.guest(rank).awaitCounterAbove(resumed, Duration.ofMinutes(1));
      p.close();
    }
  }

  static void virsh(String... args) throws Exception {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "virsh";
    cmd[1] = "-c";
    cmd[2] = "qemu:///system";
    System.arraycopy(args, 0, cmd, 3, args.length);
    assertEquals(0, new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(), String.join(" ", cmd));
  }
}
