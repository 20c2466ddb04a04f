package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.testing.Components;
import io.lencap.testing.HostCommand;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Qcow2Writer} against qemu's own tools: what it writes, directly or through the page cache, passes {@code
 * qemu-img check}, holds the same guest bytes as a raw file written beside it ({@code qemu-img compare}), leaves zero
 * clusters unallocated, and takes qemu's writes afterwards.
 */
class Qcow2WriterIT {
  static final long MIB = 1 << 20;

  @TempDir
  Path tmp;

  @BeforeEach
  void qemuImg() throws Exception {
    Components.requireCommand("qemu-img", "scripts/setup/libvirt.sh installs qemu-utils");
  }

  @ParameterizedTest(name = "direct I/O asked: {0}")
  @ValueSource(booleans = {true, false})
  void anImageOfSeveralL2TablesHoldsTheGuestBytesAndPassesQemusCheck(boolean direct) throws Exception {
    long size = 1100 * MIB + 512; // three L2 tables, the last cluster partial
    byte[] chunk = new byte[(3 << 20) + 12_345];
    // Data at the start, across the first L2 table's end, across the second's (more than the writer writes between two
    // flushes), at the end of the 100th chunk and in the last bytes; zeros between them. Chunks of odd lengths, so that
    // clusters straddle them. Every other chunk of zeros is handed over as zeros, not bytes: the 100th's cluster, part
    // data, is finished by them.
    long[][] data = {{0, 300 << 10}, {512 * MIB - 70_000, 200_000}, {100L * chunk.length - 5000, 5000},
        {750 * MIB + 4096, 300 * MIB}, {size - 1000, 1000}};
    Path image = tmp.resolve("d.qcow2");
    Path raw = tmp.resolve("d.raw");
    try (Qcow2Writer w = Qcow2Writer.create(image, size, direct);
        FileChannel r = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long at = 0, k = 0; at < size; k++) {
        int n = (int) Math.min(chunk.length, size - at);
        Arrays.fill(chunk, (byte) 0);
        for (long[] d : data) {
          long from = Math.max(at, d[0]);
          long to = Math.min(at + n, d[0] + d[1]);
          for (long i = from; i < to; i++) {
            chunk[(int) (i - at)] = (byte) ((i * 0x9E3779B97F4A7C15L >>> 56) | 1); // never zero
          }
          if (from < to) {
            r.write(ByteBuffer.wrap(chunk, (int) (from - at), (int) (to - from)), from);
          }
        }
        if (k % 2 == 0 && StateFiles.allZero(chunk, 0, n)) {
          w.zeros(at, n);
        } else {
          w.write(at, chunk, n);
        }
        at += n;
      }
      assertEquals(size, r.size(), "the last bytes are data");
      w.finish();
      String fs = Files.getFileStore(tmp).type();
      if (!direct) {
        assertFalse(w.direct(), "through the page cache, as asked");
      } else if (Set.of("ext4", "xfs", "btrfs").contains(fs)) {
        assertTrue(w.direct(), "O_DIRECT on " + fs);
      }
    }
    checkClean(image);
    HostCommand.run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), image.toString());
    String info = HostCommand.run("qemu-img", "info", "--output=json", image.toString());
    assertTrue(info.replaceAll("\\s", "").contains("\"virtual-size\":" + size), info);
    // 300.5 MiB of data round up to whole clusters; a few clusters of metadata beside them.
    long allocated = Files.size(image);
    assertTrue(allocated > 300 * MIB && allocated < 302 * MIB,
        "zero clusters stay unallocated: " + allocated + " bytes");

    // qemu allocates into it afterwards, in an L2 table that was not written and in one that was.
    HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 5 1050M 1M", "-c", "write -P 6 100M 64k",
        image.toString());
    checkClean(image);
    String read = HostCommand.run("qemu-io", "-f", "qcow2", "-c", "read -P 5 1050M 1M", "-c", "read -P 6 100M 64k",
        "-c", "read -P 0 200M 1M", image.toString());
    assertTrue(!read.contains("Pattern verification failed"), read);
  }

  @Test
  void aSmallImageOfOnePartialCluster() throws Exception {
    Path image = tmp.resolve("s.qcow2");
    byte[] bytes = new byte[1536];
    Arrays.fill(bytes, (byte) 0x11);
    try (Qcow2Writer w = Qcow2Writer.create(image, bytes.length)) {
      w.write(0, bytes, 1000);
      System.arraycopy(bytes, 1000, bytes, 0, 536);
      w.write(1000, bytes, 536);
      w.finish();
    }
    checkClean(image);
    String read = HostCommand.run("qemu-io", "-f", "qcow2", "-c", "read -P 0x11 0 1536", image.toString());
    assertTrue(!read.contains("Pattern verification failed"), read);
  }

  @Test
  void bytesOutOfOrderTooManyOrTooFewAreRefused() throws Exception {
    byte[] bytes = new byte[4096];
    try (Qcow2Writer w = Qcow2Writer.create(tmp.resolve("a.qcow2"), 8192)) {
      IOException gap = assertThrows(IOException.class, () -> w.write(4096, bytes, 4096));
      assertTrue(gap.getMessage().contains("at 4096 given where the image's next bytes are at 0"), gap.getMessage());
      w.write(0, bytes, 4096);
      IOException missing = assertThrows(IOException.class, () -> w.finish());
      assertTrue(missing.getMessage().contains("8192 guest bytes ended after 4096"), missing.getMessage());
      IOException tooMany = assertThrows(IOException.class, () -> w.write(4096, new byte[8192], 8192));
      assertTrue(tooMany.getMessage().contains("more guest bytes than the image's 8192"), tooMany.getMessage());
      IOException tooManyZeros = assertThrows(IOException.class, () -> w.zeros(4096, 8192));
      assertTrue(tooManyZeros.getMessage().contains("more guest bytes than the image's 8192"),
          tooManyZeros.getMessage());
      IOException zerosElsewhere = assertThrows(IOException.class, () -> w.zeros(0, 4096));
      assertTrue(zerosElsewhere.getMessage().contains("at 0 given where the image's next bytes are at 4096"),
          zerosElsewhere.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Qcow2Writer.create(tmp.resolve("b.qcow2"), 1000));
  }

  private static void checkClean(Path image) throws Exception {
    String check = HostCommand.run("qemu-img", "check", "-f", "qcow2", image.toString());
    assertTrue(check.contains("No errors were found on the image."), check);
    assertEquals(-1, check.indexOf("leaked"), check);
  }
}
