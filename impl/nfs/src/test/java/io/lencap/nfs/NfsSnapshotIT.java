package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot hook through the engine: the cut snapshots, the transfer reads the snapshot, release deletes it. */
class NfsSnapshotIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a", "snaps");

  @TempDir
  Path store;

  @Test
  void aSnapshotHookReplacesPreCopyAndIsCleanedUp() throws Exception {
    Path a = SERVER.dir("a");
    new TreeMaker(7).build(a, 300);
    TreeMap<String, String> original = LocalTree.walk(a);
    Resource nas = Resource.builder("nas").type(ResourceType.FILE_TREE).locator(SERVER.locator("a"))
        .property("snapshots", "copy").property("snapshots.dir", SERVER.dir("snaps").toString()).build();
    Encapsulation job = Encapsulation.builder("snap").resource(nas).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      assertEquals("storage-snapshot", cp.member("nas").orElseThrow().method());
      assertTrue(CopySnapshots.LIVE.isEmpty(), "snapshots left: " + CopySnapshots.LIVE);
      try (var s = Files.list(SERVER.dir("snaps"))) {
        assertEquals(0, s.count(), "the snapshot directory was not released");
      }
      Files.writeString(a.resolve("after.txt"), "written after the capture");
      lencap.restore(job, cp.id()).join();
      NfsTreeIT.assertWalk(original, LocalTree.walk(a), "restore from a snapshot capture");
    }
  }
}
