package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed with SIGKILL in the middle of a capture; the next process that names the group repairs
 * it (opening the store alone acts on nothing).
 */
class CrashRepairIT {
  @TempDir
  Path dir;

  @Test
  void reopeningTheStoreResumesMembersAndCollectsOrphans() throws Exception {
    Path store = dir.resolve("store");
    Path file = dir.resolve("disk.img");
    byte[] original = new byte[4 * 1024 * 1024];
    new Random(7).nextBytes(original);
    Files.write(file, original);

    Process child = ChildProcesses.start(CrashingCapture.class, dir.resolve("child.err"), store.toString(),
        file.toString());
    try {
      CompletableFuture<Void> ready = CompletableFuture.runAsync(() -> ChildProcesses.awaitLine(child, "READY"));
      ready.get(120, TimeUnit.SECONDS);
    } finally {
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
      assertTrue(child.waitFor(60, TimeUnit.SECONDS));
    }
    assertTrue(Files.exists(MarkerFileProvider.marker(file)), "the dead capture left its member quiesced");
    assertEquals(1, ChildProcesses.count(store.resolve("journal")), "the dead capture left its intent record");
    long chunksBefore = ChildProcesses.count(store.resolve("chunks"));

    Files.write(file, new byte[] {1, 2, 3}); // what the group did after the crash
    Encapsulation group = Encapsulation.builder("crash")
        .resource(Resource.of("disk", ResourceType.BLOCK_VOLUME, "testfile://" + file)).build();
    // A chunk per file (packs=false), so that the orphans the killed capture wrote are files to count; with packs
    // they may still have been in its open pack. Packs left by a dead capture: S3CollectionRaceIT, CollectionRaceTest.
    try (Lencap lencap = Lencap.builder().store(store).storeOption("packs", "false").build()) {
      assertTrue(Files.exists(MarkerFileProvider.marker(file)), "opening the store acted on what it found there");
      lencap.repair(group).join(); // the application names the group: its members are resumed
      assertFalse(Files.exists(MarkerFileProvider.marker(file)), "repair did not resume the member");
      assertEquals(0, ChildProcesses.count(store.resolve("journal")), "repair left the intent record");
      List<Checkpoint> checkpoints = lencap.checkpoints("crash").join();
      assertEquals(1, checkpoints.size(), "the killed capture must not be listed");
      long referenced = checkpoints.get(0).members().size() == 1 ? original.length / (64 * 1024) : -1;
      assertEquals(referenced, ChildProcesses.count(store.resolve("chunks")), "orphans were not collected (before: "
          + chunksBefore + ")");
      assertTrue(chunksBefore > referenced, "the killed capture left no orphan chunk to collect");
      VerifyReport report = lencap.verify("crash").join();
      assertTrue(report.ok(), report.problems().toString());
      lencap.restore(group, checkpoints.get(0).id()).join();
      assertArrayEquals(original, Files.readAllBytes(file));
    }
  }
}
