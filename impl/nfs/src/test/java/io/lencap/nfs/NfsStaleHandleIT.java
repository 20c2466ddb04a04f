package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Directories deleted and recreated directly in Ganesha's backing directory between capture and restore
 * (new inodes under the old names, other content) are restored to the checkpoint. This fixture turns
 * Ganesha's caching off, so the restore's walk sees fresh handles: the test guards the outcome, not the
 * re-resolution of a stale handle itself (with caching on, Ganesha serves the replaced directories' old
 * entries from memory and the restore cannot tell; see the report on issue 15).
 */
class NfsStaleHandleIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a");

  @TempDir
  Path store;

  @Test
  void directoriesReplacedBehindTheServerAreRestoredByPath() throws Exception {
    Path a = SERVER.dir("a");
    for (int d = 0; d < 4; d++) {
      Path dir = Files.createDirectories(a.resolve("d" + d).resolve("sub"));
      for (int i = 0; i < 25; i++) {
        Files.writeString(dir.getParent().resolve("f" + i), "file " + i + " of d" + d);
        Files.writeString(dir.resolve("g" + i), "nested " + i + " of d" + d);
      }
    }
    TreeMap<String, String> captured = LocalTree.walk(a);
    Encapsulation job = Encapsulation.builder("stale").resource(NfsTreeIT.nas("nas", SERVER.locator("a"))).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join(); // Ganesha now caches every directory's handle

      for (int d = 0; d < 4; d++) { // behind Ganesha's back: new directories under the old names
        Path dir = a.resolve("d" + d);
        GaneshaServer.deleteTree(dir);
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("f0"), "changed");
        Files.writeString(dir.resolve("sub/g1"), "changed too");
        Files.writeString(dir.resolve("new"), "created");
      }
      GaneshaServer.deleteTree(a.resolve("d3/sub"));
      assertNotEquals(captured, LocalTree.walk(a));

      lencap.restore(job, cp.id()).join();
      NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "restore after directories were replaced");
    }
  }
}
