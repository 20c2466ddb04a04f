package io.lencap.samples;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import io.lencap.timeline.Timeline;
import io.lencap.timeline.TimelineImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The main job: a real group — a counter VM on QEMU and the directory tree its job writes — captured
 * non-blocking at one recovery line into the embedded local store; then the VM is destroyed and the
 * tree damaged, and the group is restored: the VM's counter goes on from the captured value and the
 * tree is back, byte for byte. Prints each member's pause and bytes and writes the capture's timeline.
 * Run: {@code scripts/demo.sh} (sets up libvirt and the guest, then runs this).
 */
public final class GroupDemo {
  public static void main(String[] args) throws Exception {
    Path work = Path.of(args.length > 0 ? args[0] : "target/demo").toAbsolutePath();
    Path tree = work.resolve("job-data");
    if (Files.exists(tree)) {
      throw new IllegalStateException(tree + " exists: give the demo a fresh directory");
    }
    DemoTree.create(tree, 500);
    CounterGuests guests = CounterGuests.inProject();
    String vm = "lencap-demo-vm";
    CounterGuest guest = guests.start(vm);
    try {
      long booted = guest.awaitCounterAbove(2, Duration.ofMinutes(3));
      System.out.printf("counter VM %s booted (128 MiB, QEMU in software emulation), counter %d%n", vm, booted);
      Encapsulation job = Encapsulation.builder("demo-job")
          .resource(guest.resource(vm))
          .resource(Resource.of("data", ResourceType.FILE_TREE, tree.toUri().toString()))
          .policy(ResiliencyPolicy.builder().pauseBudget(Duration.ofSeconds(10)).keepLast(3).build())
          .build();
      Timeline timeline = new Timeline();
      try (Lencap lencap = Lencap.builder().store(work.resolve("store")).listener(timeline).build()) {
        int before = guest.counter().orElseThrow();
        Checkpoint cp = lencap.capture(job).join();
        int after = guest.counter().orElseThrow();
        System.out.printf("%ncaptured %s non-blocking; the VM counted on from %d to %d meanwhile%n", cp.id(), before, after);
        System.out.printf("%-16s %-24s %10s %12s %12s%n", "member", "method", "pause", "state", "stored");
        for (MemberCheckpoint m : cp.members()) {
          System.out.printf("%-16s %-24s %7d ms %9.1f MiB %9.1f MiB%n", m.id(), m.method(), m.pause().toMillis(),
              m.logicalBytes() / 1048576.0, m.storedBytes() / 1048576.0);
        }
        System.out.printf("group pause %d ms%n", cp.pause().toMillis());
        Path svg = work.resolve("timeline-" + cp.id() + ".svg");
        Files.writeString(svg, new TimelineImage("capture " + cp.id(), timeline.bars(cp.id())).svg());
        System.out.printf("timeline: %s%n", svg);

        TreeDigest digest = TreeDigest.of(tree);
        guest.awaitCounterAbove(after + 3, Duration.ofMinutes(1));
        int atDestroy = guest.counter().orElseThrow();
        guest.destroy();
        DemoTree.mutate(tree, 501);
        System.out.printf("%ndestroyed the VM at counter %d and changed the tree%n", atDestroy);

        int printed = guest.counters().size();
        long t0 = System.nanoTime();
        lencap.restore(job, cp.id()).join();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long firstAfter = guest.awaitNewCounter(printed, Duration.ofMinutes(1));
        boolean treeBack = TreeDigest.of(tree).differences(digest).isEmpty();
        System.out.printf("restored the group in %d ms: the VM counts on from %d (captured while it showed %d..%d); "
            + "tree identical: %s%n", ms, firstAfter, before, after, treeBack);
        if (!treeBack || firstAfter > after + 1 || firstAfter < before) {
          throw new IllegalStateException("the group did not come back to its recovery line");
        }
      }
    } finally {
      guest.close();
    }
  }
}
