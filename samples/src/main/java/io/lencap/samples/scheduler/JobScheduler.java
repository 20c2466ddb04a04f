package io.lencap.samples.scheduler;

import io.lencap.api.Encapsulation;
import io.lencap.api.Failure;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Placement;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A job scheduler that embeds Lencap: each job is a group (here one counter guest) protected with
 * {@link Reaction#RESTORE_ELSEWHERE}; when a job fails, Lencap asks the scheduler where to put it and
 * restores the whole group there. On this single machine a "host" is a libvirt connection plus a domain
 * name suffix; on a cluster it would be {@code qemu+ssh://nodeN/system}.
 * Run: {@code mvn -q -pl samples exec:java -Dexec.mainClass=io.lencap.samples.scheduler.JobScheduler}.
 */
public final class JobScheduler {
  /** Where jobs can run: the scheduler's view of its cluster. */
  record Host(String name, String uri) {}

  private final List<Host> hosts;
  private final CounterGuests guests;
  private int next = 1;

  JobScheduler(List<Host> hosts, CounterGuests guests) {
    this.hosts = hosts;
    this.guests = guests;
  }

  /** The scheduler's placement policy: round robin over the other hosts. */
  Placement place(Encapsulation job, Failure failure, int attempt) {
    Host host = hosts.get(next++ % hosts.size());
    Placement.Builder p = Placement.builder();
    for (Resource r : job.resources()) {
      String domain = r.id() + "-" + host.name();
      try {
        // A VM that moves needs a place for its disks on the new host: the scheduler says where.
        p.move(r.id(), java.net.URI.create(host.uri()), Map.of("domain", domain,
            "restore.directory", guests.directory(domain).toString()));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    System.out.printf("scheduler: %s failed (%s, attempt %d): placing it on %s%n", failure.memberId(),
        failure.kind(), attempt, host.name());
    return p.build();
  }

  public static void main(String[] args) throws Exception {
    CounterGuests guests = CounterGuests.inProject();
    String uri = guests.resource("x").locator().toString();
    JobScheduler scheduler = new JobScheduler(List.of(new Host("hostA", uri), new Host("hostB", uri)), guests);
    String job = "job1";
    CounterGuest guest = guests.start(job);
    try {
      guest.awaitCounterAbove(1, Duration.ofMinutes(2));
      Encapsulation group = Encapsulation.builder(job).resource(guest.resource(job))
          .policy(ResiliencyPolicy.builder().onFailure(Reaction.RESTORE_ELSEWHERE)
              .checkpointInterval(Duration.ofSeconds(20)).probeInterval(Duration.ofSeconds(1))
              .failureConfirmation(Duration.ofSeconds(2)).keepLast(2).build())
          .build();
      CompletableFuture<LencapEvent.Recovered> recovered = new CompletableFuture<>();
      try (Lencap lencap = Lencap.builder().store(Path.of(args.length > 0 ? args[0] : "target/scheduler-store"))
          .listener(e -> {
            if (e instanceof LencapEvent.Recovered r) {
              recovered.complete(r);
            }
          }).build()) {
        Protection p = lencap.protect(group, (failure, checkpoint, attempt) -> scheduler.place(group, failure, attempt));
        p.captureNow().join();
        guest.awaitCounterAbove(guest.counter().orElse(0) + 2, Duration.ofMinutes(1));
        new ProcessBuilder("kill", "-9", Long.toString(guest.qemuPid())).start().waitFor();
        LencapEvent.Recovered r = recovered.get(5, TimeUnit.MINUTES);
        String moved = r.placement().targets().get(job).properties().get("domain");
        long counter = guests.guest(moved).awaitCounterAbove(-1, Duration.ofMinutes(1));
        System.out.printf("scheduler: %s runs again as %s, counting from %d (checkpoint %s)%n", job, moved, counter,
            r.checkpointId());
        p.close();
        guests.remove(moved);
      }
    } finally {
      guest.close();
    }
  }
}
