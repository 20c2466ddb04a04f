package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link DirectFile}: the same bytes whether written directly or through the page cache. */
class DirectFileTest {
  static final int A = DirectFile.ALIGN;

  @TempDir
  Path tmp;

  @ParameterizedTest(name = "direct I/O asked: {0}")
  @ValueSource(booleans = {true, false})
  void writesAtTheirPlaceCutsThePaddingAndExtendsAFileEndingInAHole(boolean direct) throws Exception {
    byte[] expected = new byte[40 * A + 1000];
    new Random(7).nextBytes(expected);
    Arrays.fill(expected, 4 * A, 8 * A, (byte) 0); // a hole in the middle
    Arrays.fill(expected, 28 * A - 5, expected.length, (byte) 0); // and at the end: never written
    Path file = tmp.resolve("f");
    try (DirectFile f = DirectFile.create(file, direct)) {
      f.write(expected, 0, 4 * A, 0);
      f.write(expected, 8 * A, 20 * A - 5, 8 * A); // more than its staging buffer, the last block padded
      f.finish(expected.length, true);
      String fs = Files.getFileStore(tmp).type();
      if (!direct) {
        assertFalse(f.direct(), "through the page cache, as asked");
      } else if (Set.of("ext4", "xfs", "btrfs").contains(fs)) {
        assertTrue(f.direct(), "O_DIRECT on " + fs);
      }
    }
    assertArrayEquals(expected, Files.readAllBytes(file));
  }

  @Test
  void aDirectWriteOffABlockIsRefusedABufferedOneIsNot() throws Exception {
    byte[] bytes = {1, 2, 3};
    try (DirectFile f = DirectFile.create(tmp.resolve("d"), true)) {
      if (f.direct()) {
        assertThrows(IllegalArgumentException.class, () -> f.write(bytes, 0, 3, 3));
      }
    }
    Path buffered = tmp.resolve("b");
    try (DirectFile f = DirectFile.create(buffered, false)) {
      f.write(bytes, 0, 3, 3);
      f.finish(6, false);
    }
    assertArrayEquals(new byte[] {0, 0, 0, 1, 2, 3}, Files.readAllBytes(buffered));
  }
}
