package io.lencap.benchmarks;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coordination overhead: captures and restores of N no-op members (half VMs, half storage, so the
 * dependency levels are exercised), milliseconds per member, both modes side by side.
 * Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.lencap.benchmarks.CoordinationBench -Dexec.args=1000}
 */
public final class CoordinationBench {
  public static void main(String[] args) throws Exception {
    int members = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path store = Files.createTempDirectory("lencap-coord-bench");
    System.out.printf("coordination of %d no-op members, %d rounds each, %d cores%n", members, rounds,
        Runtime.getRuntime().availableProcessors());
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      double[] perMember = new double[2];
      for (CaptureMode mode : CaptureMode.values()) {
        Encapsulation group = group(members, mode);
        for (int i = 0; i < 3; i++) {
          lencap.capture(group).join(); // warm-up: JIT, threads
        }
        long start = System.nanoTime();
        Checkpoint last = null;
        for (int i = 0; i < rounds; i++) {
          last = lencap.capture(group).join();
        }
        double ms = (System.nanoTime() - start) / 1e6 / rounds;
        long restoreStart = System.nanoTime();
        lencap.restore(group, last.id()).join();
        double restoreMs = (System.nanoTime() - restoreStart) / 1e6;
        perMember[mode.ordinal()] = ms / members;
        System.out.printf("%-13s capture %8.1f ms (%.3f ms/member), group pause %6.1f ms, restore %8.1f ms (%.3f ms/member)%n",
            mode, ms, ms / members, last.pause().toNanos() / 1e6, restoreMs, restoreMs / members);
      }
      System.out.printf("ratio blocking / non-blocking capture time: %.2f%n", perMember[1] / perMember[0]);
    }
  }

  static Encapsulation group(int members, CaptureMode mode) {
    Encapsulation.Builder b = Encapsulation.builder("coord-" + mode.name().toLowerCase())
        .policy(ResiliencyPolicy.builder().mode(mode).keepLast(2).build());
    for (int i = 0; i < members; i++) {
      ResourceType type = i % 2 == 0 ? ResourceType.VIRTUAL_MACHINE : ResourceType.BLOCK_VOLUME;
      b.resource(Resource.of("m" + i, type, "noop://m" + i));
    }
    return b.build();
  }
}
