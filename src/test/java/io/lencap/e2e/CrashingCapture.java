package io.lencap.e2e;

import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child process of {@link CrashRepairIT}: commits one checkpoint of a file, then starts a second
 * capture that stops in the middle of its transfer, with the member quiesced, until it is killed.
 */
public final class CrashingCapture {
  public static void main(String[] args) {
    Path store = Path.of(args[0]);
    Path file = Path.of(args[1]);
    // A chunk per file, as CrashRepairIT counts them.
    Lencap lencap = Lencap.builder().store(store).storeOption("packs", "false").build();
    ResiliencyPolicy patient = ResiliencyPolicy.builder().pauseBudget(Duration.ofMinutes(5)).build();
    Resource r = Resource.of("disk", ResourceType.BLOCK_VOLUME, "testfile://" + file);
    lencap.capture(Encapsulation.builder("crash").resource(r).policy(patient).build()).join();
    System.out.println("COMMITTED");
    Resource hanging = r.toBuilder().property("hang", "transfer").build();
    lencap.capture(Encapsulation.builder("crash").resource(hanging).policy(patient).build()).join();
  }
}
