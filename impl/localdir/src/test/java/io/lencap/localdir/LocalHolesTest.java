package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a local file's data lies, asked without following a symlink or leaving the tree. */
class LocalHolesTest {
  private static final long MIB = 1 << 20;

  @TempDir
  Path sandbox;

  @Test
  void findsTheDataAfterAHoleAndAHoleToTheEnd() throws Exception {
    Path tree = Files.createDirectories(sandbox.resolve("tree/sub"));
    try (RandomAccessFile f = new RandomAccessFile(tree.resolve("sparse").toFile(), "rw")) {
      f.setLength(16 * MIB);
      f.seek(8 * MIB);
      f.write(new byte[] {1, 2, 3});
    }
    Path root = sandbox.resolve("tree");
    assertEquals(8 * MIB, LocalHoles.dataFrom(root, "sub/sparse", 0, 16 * MIB), "the data after the first hole");
    assertEquals(8 * MIB + 1, LocalHoles.dataFrom(root, "sub/sparse", 8 * MIB + 1, 16 * MIB), "in the data");
    assertEquals(16 * MIB, LocalHoles.dataFrom(root, "sub/sparse", 9 * MIB, 16 * MIB), "a hole to the end");
    assertEquals(12 * MIB, LocalHoles.dataFrom(root, "sub/sparse", 0, 4 * MIB) + 8 * MIB,
        "never past the size the caller knows");
  }

  @Test
  void answersDataHereWhereItMayNotLook() throws Exception {
    Path root = Files.createDirectories(sandbox.resolve("tree"));
    Path outside = sandbox.resolve("outside");
    try (RandomAccessFile f = new RandomAccessFile(outside.toFile(), "rw")) {
      f.setLength(4 * MIB);
    }
    Files.createSymbolicLink(root.resolve("link"), outside);
    Files.createSymbolicLink(root.resolve("dir"), sandbox);
    assertEquals(0, LocalHoles.dataFrom(root, "link", 0, 4 * MIB), "a symlink is not followed");
    assertEquals(0, LocalHoles.dataFrom(root, "dir/outside", 0, 4 * MIB), "nor a symlinked directory");
    assertEquals(0, LocalHoles.dataFrom(root, "../outside", 0, 4 * MIB), "nor a way out of the tree");
    assertEquals(0, LocalHoles.dataFrom(root, "missing", 0, 4 * MIB), "a file gone: read, and found gone");
    Process mkfifo = new ProcessBuilder("mkfifo", root.resolve("fifo").toString()).inheritIO().start();
    assertEquals(true, mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0);
    assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertEquals(0, LocalHoles.dataFrom(root, "fifo", 0, 4 * MIB)), "a FIFO swapped in does not hang it");
  }
}
