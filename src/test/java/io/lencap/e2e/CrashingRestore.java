package io.lencap.e2e;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import java.nio.file.Path;

/**
 * The child process of {@link RestoreCrashIT}: captures a writer and its disk, then restores them with a
 * disk restore that tears the disk and blocks, the writer quiesced, until it is killed.
 */
public final class CrashingRestore {
  public static void main(String[] args) {
    Lencap lencap = Lencap.builder().store(Path.of(args[0])).build();
    Encapsulation group = RestoreCrashIT.group(Path.of(args[1]), Path.of(args[2]));
    Checkpoint cp = lencap.capture(group).join();
    System.out.println("COMMITTED " + cp.id());
    Resource hanging = group.resource("disk").orElseThrow().toBuilder().property("hang", "restore").build();
    Encapsulation tearing = Encapsulation.builder(group.name()).resource(hanging)
        .resource(group.resource("app").orElseThrow()).policy(group.policy()).build();
    lencap.restore(tearing, cp.id()).join();
  }
}
