package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The round trip through the engine and a real NFS-Ganesha: 10,000 files of mixed sizes with
 * symlinks captured, mutated (edits, deletes, new files, a rename, a chmod), captured again, restored to the
 * first checkpoint in place and onto another export: every walk equals the original in content and metadata.
 */
class NfsTreeIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a", "b");

  @TempDir
  Path store;

  @Test
  void tenThousandFilesCapturedMutatedCapturedAndRestored() throws Exception {
    Path a = SERVER.dir("a");
    TreeMaker maker = new TreeMaker(42).build(a, 10_000);
    TreeMap<String, String> original = LocalTree.walk(a);
    assertTrue(original.size() > 10_000, "tree has " + original.size() + " entries");

    Encapsulation job = Encapsulation.builder("nas-job").resource(nas("nas", SERVER.locator("a"))).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      long t0 = System.nanoTime();
      Checkpoint cp1 = lencap.capture(job).join();
      log("first capture", t0, cp1);
      MemberCheckpoint m1 = cp1.member("nas").orElseThrow();
      assertEquals("pre-copy+final-pass", m1.method());
      assertEquals(maker.bytes, m1.logicalBytes(), "logical bytes of the first checkpoint");

      mutate(a, maker);
      TreeMap<String, String> mutated = LocalTree.walk(a);
      assertNotEquals(original, mutated);

      t0 = System.nanoTime();
      Checkpoint cp2 = lencap.capture(job).join();
      log("second capture", t0, cp2);
      MemberCheckpoint m2 = cp2.member("nas").orElseThrow();
      assertTrue(m2.storedBytes() < m1.storedBytes() / 20,
          "second capture stored " + m2.storedBytes() + " of " + m1.storedBytes() + " bytes");

      // Onto another export that holds other things: they go, the tree comes.
      Path b = SERVER.dir("b");
      Files.writeString(b.resolve("stray.txt"), "not in the checkpoint");
      Files.createDirectories(b.resolve("d0/junk"));
      t0 = System.nanoTime();
      lencap.restore(job, cp1.id(), Placement.builder().move("nas", URI.create(SERVER.locator("b"))).build()).join();
      log("restore onto b", t0, null);
      assertWalk(original, LocalTree.walk(b), "restore of the first checkpoint onto export b");

      t0 = System.nanoTime();
      lencap.restore(job, cp1.id()).join();
      log("restore in place", t0, null);
      assertWalk(original, LocalTree.walk(a), "in-place restore of the first checkpoint");

      lencap.restore(job, cp2.id()).join();
      assertWalk(mutated, LocalTree.walk(a), "in-place restore of the second checkpoint");
    }
  }

  /** About 1% of the tree changes: edits, an append, deletes, new files, a rename, a chmod, a new symlink. */
  static void mutate(Path root, TreeMaker maker) throws Exception {
    var r = maker.random();
    List<Path> files = maker.files.stream().filter(TreeMaker::exists).toList();
    for (int i = 0; i < files.size() / 200; i++) { // edit in place (mtime moves on)
      Path f = files.get(r.nextInt(files.size()));
      byte[] d = Files.readAllBytes(f);
      if (d.length > 0) {
        d[d.length / 2] ^= 0x55;
        Files.write(f, d);
      }
    }
    Files.write(files.get(7), new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
    for (int i = 0; i < files.size() / 500; i++) {
      Files.deleteIfExists(files.get(r.nextInt(files.size())));
    }
    for (int i = 0; i < files.size() / 500; i++) {
      maker.file(maker.dirs.get(r.nextInt(maker.dirs.size())).resolve("new" + i), maker.size());
    }
    Path renamed = files.stream().filter(TreeMaker::exists).filter(p -> p.toString().endsWith("f11.dat")).findFirst()
        .orElse(files.stream().filter(TreeMaker::exists).findFirst().orElseThrow());
    Files.move(renamed, maker.dirs.get(0).resolve("renamed.dat"));
    Path chmod = files.stream().filter(TreeMaker::exists).skip(3).findFirst().orElseThrow();
    FileTime keep = Files.getLastModifiedTime(chmod);
    Files.setPosixFilePermissions(chmod, PosixFilePermissions.fromString("rwx------"));
    Files.setLastModifiedTime(chmod, keep);
    Files.createSymbolicLink(root.resolve("d0/new-link"), Path.of("e0"));
  }

  static void log(String what, long startNanos, Checkpoint cp) {
    System.out.printf("%s: %.2f s%s%n", what, (System.nanoTime() - startNanos) / 1e9, cp == null ? ""
        : " pause " + cp.pause().toMillis() + " ms, stored " + cp.storedBytes() + " of " + cp.logicalBytes()
        + " bytes, " + cp.member("nas").map(MemberCheckpoint::notes).orElse(List.of()));
  }

  static Resource nas(String id, String locator) {
    return Resource.builder(id).type(ResourceType.FILE_TREE).locator(locator).build();
  }

  static void assertWalk(Map<String, String> expected, Map<String, String> actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": entry count" + LocalTree.diff(expected, actual));
    assertTrue(expected.equals(actual), what + " differs:" + LocalTree.diff(expected, actual));
  }
}
