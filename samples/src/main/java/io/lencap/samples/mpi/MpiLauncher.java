package io.lencap.samples.mpi;

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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An MPI-style job launcher that embeds Lencap: it starts a group of counter guests as ranks, protects
 * them as one encapsulation whose checkpoint interval is computed from the job's MTBF (Young/Daly, from
 * the measured pause), injects a failure (kills one rank's QEMU), and reports how the job came back:
 * detection latency, time to a running group, and the work lost (seconds of counting redone).
 * Run: {@code mvn -q -pl samples exec:java -Dexec.mainClass=io.lencap.samples.mpi.MpiLauncher
 * -Dexec.args="2 /tmp/mpi-store"} after {@code scripts/setup/libvirt.sh} and {@code guest.sh}.
 */
public final class MpiLauncher {
  public static void main(String[] args) throws Exception {
    int ranks = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    Path store = Path.of(args.length > 1 ? args[1] : "target/mpi-store");
    Duration mtbf = Duration.ofSeconds(args.length > 2 ? Long.parseLong(args[2]) : 120);
    CounterGuests guests = CounterGuests.inProject();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < ranks; i++) {
      names.add("mpi-rank" + i);
    }
    try {
      for (String n : names) {
        guests.start(n);
      }
      for (String n : names) {
        guests.guest(n).awaitCounterAbove(0, Duration.ofMinutes(2));
      }
      System.out.printf("job: %d ranks running; MTBF %s%n", ranks, mtbf);

      Encapsulation.Builder job = Encapsulation.builder("mpi-job").policy(ResiliencyPolicy.builder()
          .meanTimeBetweenFailures(mtbf).onFailure(Reaction.RESTORE_IN_PLACE).keepLast(3)
          .probeInterval(Duration.ofSeconds(1)).failureConfirmation(Duration.ofSeconds(2)).build());
      names.forEach(n -> job.resource(guests.resource(n)));
      CompletableFuture<LencapEvent.FailureDetected> detected = new CompletableFuture<>();
      CompletableFuture<LencapEvent.Recovered> recovered = new CompletableFuture<>();
      List<Checkpoint> committed = new java.util.concurrent.CopyOnWriteArrayList<>();
      try (Lencap lencap = Lencap.builder().store(store).listener(e -> {
            if (e instanceof LencapEvent.Committed c) {
              committed.add(c.checkpoint());
              System.out.printf("  checkpoint %s: group pause %d ms%n", c.checkpointId(), c.checkpoint().pause().toMillis());
            } else if (e instanceof LencapEvent.FailureDetected f) {
              detected.complete(f);
            } else if (e instanceof LencapEvent.Recovered r) {
              recovered.complete(r);
            }
          }).build()) {
        // The interval is chosen from the measured cost of checkpoints: compile Lencap's data paths first, so that
        // the first one is not a cold JVM's.
        lencap.warmUp().join();
        Protection protection = lencap.protect(job.build());
        Checkpoint first = protection.captureNow().join();
        System.out.printf("interval from MTBF %s and a %d ms pause: %s%n", mtbf, first.pause().toMillis(),
            protection.interval().map(Duration::toString).orElse("?"));
        // Let the ranks work past the checkpoint, then kill one.
        CounterGuest rank0 = guests.guest(names.get(0));
        rank0.awaitCounterAbove(rank0.counter().orElse(0) + 3, Duration.ofMinutes(1));
        String victim = names.get(names.size() - 1);
        CounterGuest failing = guests.guest(victim);
        int atFailure = failing.lastCounter();
        int printedAtKill = failing.counters().size();
        Instant killed = Instant.now();
        new ProcessBuilder("kill", "-9", Long.toString(failing.qemuPid())).start().waitFor();
        System.out.printf("killed %s's QEMU at counter %d%n", victim, atFailure);
        LencapEvent.FailureDetected f = detected.get(2, TimeUnit.MINUTES);
        LencapEvent.Recovered r = recovered.get(5, TimeUnit.MINUTES);
        Checkpoint back = committed.stream().filter(c -> c.id().equals(r.checkpointId())).findFirst()
            .orElse(first);
        int restoredFrom = failing.awaitNewCounter(printedAtKill, Duration.ofMinutes(1));
        System.out.printf("detected after %d ms (%s), group running again after %d ms%n",
            Duration.between(killed, f.at()).toMillis(), f.failure().kind(), Duration.between(killed, r.at()).toMillis());
        System.out.printf("back to checkpoint %s; %s counts on from %d: work lost %d s of %d%n", back.id(), victim,
            restoredFrom, atFailure - restoredFrom, atFailure);
        protection.close();
      }
    } finally {
      for (String n : names) {
        guests.remove(n);
      }
    }
  }
}
