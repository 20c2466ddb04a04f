package io.lencap.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's verdict rests on the digest: it must see every kind of difference. */
class TreeDigestTest {
  @TempDir
  Path root;

  @Test
  void seesEditsDeletionsAdditionsAndModes() throws Exception {
    Files.createDirectories(root.resolve("d"));
    Files.writeString(root.resolve("d/a.txt"), "a");
    Files.writeString(root.resolve("b.txt"), "b");
    Files.writeString(root.resolve("c.txt"), "c");
    Files.createSymbolicLink(root.resolve("l"), Path.of("b.txt"));
    TreeDigest before = TreeDigest.of(root);
    assertEquals(List.of(), before.differences(TreeDigest.of(root)));

    var aTime = Files.getLastModifiedTime(root.resolve("d/a.txt"));
    Files.writeString(root.resolve("d/a.txt"), "A");
    Files.setLastModifiedTime(root.resolve("d/a.txt"), aTime); // content alone differs
    Files.delete(root.resolve("b.txt"));
    Files.writeString(root.resolve("new.txt"), "new");
    Files.setPosixFilePermissions(root.resolve("c.txt"), PosixFilePermissions.fromString("rwx------"));
    List<String> diff = before.differences(TreeDigest.of(root));
    assertEquals(4, diff.size(), diff.toString());
    assertEquals(1, diff.stream().filter(d -> d.startsWith("missing  b.txt")).count());
    assertEquals(1, diff.stream().filter(d -> d.startsWith("extra    new.txt")).count());
    assertEquals(1, diff.stream().filter(d -> d.startsWith("differs  d/a.txt")).count());
    assertEquals(1, diff.stream().filter(d -> d.startsWith("differs  c.txt")).count());
  }
}
