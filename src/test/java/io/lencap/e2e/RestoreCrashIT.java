package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed with SIGKILL while it restores a group: while it lives, no other process captures or
 * restores the group; once it is dead, the group's writer stays paused on its torn disk until the group is
 * restored again.
 */
class RestoreCrashIT {
  @TempDir
  Path dir;

  static Encapsulation group(Path disk, Path app) {
    return Encapsulation.builder("torn")
        .resource(Resource.of("disk", ResourceType.BLOCK_VOLUME, "testfile://" + disk))
        .resource(Resource.builder("app").type(ResourceType.VIRTUAL_MACHINE).locator("testfile://" + app).dependsOn("disk").build())
        .build();
  }

  @Test
  void aRestoreKilledMidWriteExcludesOthersThenKeepsItsWriterPausedUntilRestoredAgain() throws Exception {
    Path store = dir.resolve("store");
    Path disk = dir.resolve("disk.img");
    Path app = dir.resolve("app.state");
    byte[] original = new byte[1024 * 1024];
    new Random(11).nextBytes(original);
    Files.write(disk, original);
    Files.write(app, "running".getBytes(StandardCharsets.UTF_8));
    Encapsulation group = group(disk, app);

    Process child = ChildProcesses.start(CrashingRestore.class, dir.resolve("child.err"), store.toString(),
        disk.toString(), app.toString());
    try {
      CompletableFuture.runAsync(() -> ChildProcesses.awaitLine(child, "READY")).get(120, TimeUnit.SECONDS);
      assertTrue(Files.exists(MarkerFileProvider.marker(app)), "the restore quiesces the writer first");
      try (Lencap other = Lencap.builder().store(store).build()) {
        CompletionException capture = assertThrows(CompletionException.class, () -> other.capture(group).join());
        assertTrue(capture.getCause().getMessage().contains("restore"), capture.getCause().getMessage());
        Checkpoint cp = other.checkpoints("torn").join().get(0);
        CompletionException restore = assertThrows(CompletionException.class,
            () -> other.restore(group, cp.id()).join());
        assertTrue(restore.getCause().getMessage().contains("is running on it"), restore.getCause().getMessage());
        assertThrows(CompletionException.class, () -> other.delete("torn", cp.id()).join(),
            "a checkpoint being restored was deleted");
      }
    } finally {
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
      assertTrue(child.waitFor(60, TimeUnit.SECONDS));
    }
    assertArrayEquals(new byte[] {9, 9, 9}, Files.readAllBytes(disk), "the restore tore the disk");

    try (Lencap lencap = Lencap.builder().store(store).build()) {
      CompletionException repair = assertThrows(CompletionException.class, () -> lencap.repair(group).join());
      assertTrue(repair.getCause().getMessage().contains("restore the group again"), repair.getCause().getMessage());
      assertTrue(Files.exists(MarkerFileProvider.marker(app)), "repair resumed a writer on a torn disk");
      CompletionException capture = assertThrows(CompletionException.class, () -> lencap.capture(group).join());
      assertTrue(capture.getCause().getMessage().contains("restore the group again"), "a torn group was captured");

      List<Checkpoint> checkpoints = lencap.checkpoints("torn").join();
      assertEquals(1, checkpoints.size());
      lencap.restore(group, checkpoints.get(0).id()).join();
      assertArrayEquals(original, Files.readAllBytes(disk));
      assertFalse(Files.exists(MarkerFileProvider.marker(app)), "the new restore resumes the writer");
      assertEquals(0, ChildProcesses.count(store.resolve("journal")), "the interrupted restore's record is superseded");
      lencap.capture(group).join(); // and the group is whole again
    }
  }
}
