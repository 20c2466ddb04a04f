package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore never writes through a file it does not own, against a real NFS-Ganesha: a hard link planted
 * between capture and restore (to a file outside the tree, or to another restored file) is replaced, not
 * written through; the captured file itself, changed in place, is still restored in place. Hard links of the
 * tree come back as hard links (NFSv3 LINK).
 */
class NfsHardLinkIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a", "b");

  @TempDir
  Path store;
  private Path a;
  private Path b;
  private Encapsulation job;

  @BeforeEach
  void freshExports() throws Exception {
    a = SERVER.dir("a");
    b = SERVER.dir("b");
    for (Path e : List.of(a, b)) {
      try (Stream<Path> s = Files.list(e)) {
        s.forEach(GaneshaServer::deleteTree);
      }
    }
    Files.writeString(b.resolve("neighbour.txt"), "another export's file, not ours");
    job = Encapsulation.builder("links").resource(NfsTreeIT.nas("nas", SERVER.locator("a"))).build();
  }

  @Test
  void aHardLinkPlantedToAFileOutsideTheTreeIsReplacedNotWrittenThrough() throws Exception {
    Files.writeString(a.resolve("keep.txt"), "the captured content of keep.txt");
    Files.setPosixFilePermissions(a.resolve("keep.txt"), PosixFilePermissions.fromString("rw-rw-rw-"));
    TreeMap<String, String> captured = LocalTree.walk(a);
    TreeMap<String, String> neighbour = LocalTree.walk(b);
    Object neighbourInode = inode(b.resolve("neighbour.txt"));
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.delete(a.resolve("keep.txt"));
      Files.createLink(a.resolve("keep.txt"), b.resolve("neighbour.txt"));
      lencap.restore(job, cp.id()).join();
    }
    assertEquals(neighbour, LocalTree.walk(b), "the file outside the tree changed (content or mode)");
    NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "the restored tree");
    assertNotEquals(neighbourInode, inode(a.resolve("keep.txt")), "keep.txt is still the planted link");
  }

  @Test
  void twoEntriesMadeToShareAnInodeAfterTheCaptureAreRestoredApart() throws Exception {
    Files.writeString(a.resolve("one.txt"), "the first file");
    Files.writeString(a.resolve("two.txt"), "the second file, longer than the first");
    TreeMap<String, String> captured = LocalTree.walk(a);
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.delete(a.resolve("two.txt"));
      Files.createLink(a.resolve("two.txt"), a.resolve("one.txt"));
      lencap.restore(job, cp.id()).join();
    }
    assertEquals("the first file", Files.readString(a.resolve("one.txt")));
    assertEquals("the second file, longer than the first", Files.readString(a.resolve("two.txt")));
    NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "the restored tree");
    assertNotEquals(inode(a.resolve("one.txt")), inode(a.resolve("two.txt")));
  }

  @Test
  void capturedHardLinksChangedInPlaceComeBackWithTheirCapturedContent() throws Exception {
    Files.writeString(a.resolve("h1"), "hard-linked content as captured");
    Files.createLink(a.resolve("h2"), a.resolve("h1"));
    TreeMap<String, String> captured = LocalTree.walk(a);
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.writeString(a.resolve("h1"), "changed through h1 after the capture, through both names");
      lencap.restore(job, cp.id()).join();
    }
    NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "the restored tree");
    assertEquals(inode(a.resolve("h1")), inode(a.resolve("h2")), "the hard links came back as separate files");
  }

  @Test
  void aHardLinkRemovedAfterTheCaptureIsLinkedAgain() throws Exception {
    Files.writeString(a.resolve("h1"), "one file under two names");
    Files.createDirectories(a.resolve("d"));
    Files.createLink(a.resolve("d/h2"), a.resolve("h1"));
    TreeMap<String, String> captured = LocalTree.walk(a);
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.delete(a.resolve("d/h2"));
      Files.writeString(a.resolve("d/h2"), "another file under the second name");
      lencap.restore(job, cp.id()).join();
    }
    NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "the restored tree");
    assertEquals(inode(a.resolve("h1")), inode(a.resolve("d/h2")), "d/h2 is not a link to h1 again");
    assertEquals(2, Files.getAttribute(a.resolve("h1"), "unix:nlink", LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void theCapturedFileChangedInPlaceIsStillRestoredInPlace() throws Exception {
    Path big = a.resolve("big.dat");
    new TreeMaker(7).file(big, 4 << 20);
    TreeMap<String, String> captured = LocalTree.walk(a);
    Object inode = inode(big);
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      try (var ch = java.nio.channels.FileChannel.open(big, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 1 << 20);
      }
      lencap.restore(job, cp.id()).join();
    }
    NfsTreeIT.assertWalk(captured, LocalTree.walk(a), "the restored tree");
    assertEquals(inode, inode(big), "the file it owns was replaced instead of written in place");
  }

  private static Object inode(Path p) throws Exception {
    return Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
  }
}
