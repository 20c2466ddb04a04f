package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileHoles}: a sparse file reads as its bytes, its holes counted and not read where the file system says. */
class FileHolesTest {
  static final int MIB = 1 << 20;
  /** File systems that report holes to {@code SEEK_HOLE}; on others the whole file is data, which only costs reads. */
  static final Set<String> REPORTING = Set.of("ext4", "xfs", "btrfs", "tmpfs");

  @TempDir
  Path tmp;

  @Test
  void aSparseFileReadsAsItsBytesWithItsHolesUnread() throws Exception {
    byte[] expected = new byte[9 * MIB + 123]; // data, a hole, data across buffers, a hole to the end
    Random random = new Random(3);
    byte[] a = new byte[64 << 10];
    byte[] b = new byte[3 * MIB + 5000];
    random.nextBytes(a);
    random.nextBytes(b);
    System.arraycopy(a, 0, expected, 0, a.length);
    System.arraycopy(b, 0, expected, 2 * MIB, b.length);
    Path file = tmp.resolve("disk.raw");
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      out.write(ByteBuffer.wrap(a), 0);
      out.write(ByteBuffer.wrap(b), 2 * MIB);
      out.force(true);
    }
    grow(file, expected.length);
    long holes = readBack(file, expected);
    if (REPORTING.contains(Files.getFileStore(tmp).type())) {
      long data = FileHoles.data(file, expected.length).stream().mapToLong(r -> r[1] - r[0]).sum();
      assertTrue(data >= a.length + b.length && data < 4 * MIB, "data ranges of " + data + " bytes");
      assertEquals(expected.length - data, holes, "every byte outside the data ranges is a hole");
      assertTrue(holes > 5 * MIB, holes + " bytes of holes");
    }
  }

  @Test
  void aFileWithoutHolesAndAFileThatIsOneHole() throws Exception {
    byte[] full = new byte[MIB + 77];
    new Random(5).nextBytes(full);
    Path dense = tmp.resolve("dense");
    Files.write(dense, full);
    assertEquals(0, readBack(dense, full));

    Path hole = tmp.resolve("hole");
    grow(hole, 3 * MIB);
    long holes = readBack(hole, new byte[3 * MIB]);
    if (REPORTING.contains(Files.getFileStore(tmp).type())) {
      assertEquals(3 * MIB, holes);
    }
  }

  /** Extends a file to {@code size} bytes with a hole ({@code ftruncate}). */
  private static void grow(Path file, long size) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(size);
    }
  }

  /** Reads the file through FileHoles in 100 KiB buffers, checks the bytes and returns the holes counted. */
  private static long readBack(Path file, byte[] expected) throws Exception {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try (FileChannel channel = FileChannel.open(file); FileHoles in = FileHoles.read(file, channel)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(100 << 10);
      while (in.read(buf.clear()) >= 0) {
        byte[] part = new byte[buf.flip().remaining()];
        buf.get(part);
        got.write(part);
      }
      assertArrayEquals(expected, got.toByteArray());
      return in.holes();
    }
  }
}
