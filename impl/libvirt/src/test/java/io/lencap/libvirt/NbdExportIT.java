package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lencap.testing.Components;
import io.lencap.testing.HostCommand;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NbdExport} against real qemu-nbd and libnbd: a qcow2 image with a persistent dirty bitmap, written through
 * qemu-io after the bitmap began, served over a Unix socket ({@link QemuNbd}, as a capture reads a frozen disk) and
 * over TCP (as a libvirt backup job's export on another host would be): the bitmap's extents and the bytes come back.
 */
class NbdExportIT {
  static final int SIZE = 4 << 20;

  @TempDir
  Path tmp;

  Path image;

  @BeforeEach
  void image() throws Exception {
    try {
      HostCommand.run("qemu-nbd", "--version");
    } catch (IOException e) {
      Components.require(Optional.of("qemu-nbd is missing (scripts/setup/libvirt.sh installs qemu-utils): "
          + e.getMessage()));
    }
    Components.require(NbdExport.unavailable());
    image = tmp.resolve("d.qcow2");
    HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), Integer.toString(SIZE));
    HostCommand.run("qemu-io", "-c", "write -P 7 0 4M", image.toString());
    HostCommand.run("qemu-img", "bitmap", "--add", image.toString(), "b1");
    HostCommand.run("qemu-io", "-c", "write -P 9 1M 4k", "-c", "write -P 9 3M 128k", image.toString());
  }


  static byte[] expected(long offset, int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      long at = offset + i;
      boolean changed = at >= 1 << 20 && at < (1 << 20) + 4096 || at >= 3 << 20 && at < (3 << 20) + 128 * 1024;
      b[i] = (byte) (changed ? 9 : 7);
    }
    return b;
  }

  static void check(NbdExport e) throws IOException {
    assertEquals(SIZE, e.size());
    List<long[]> dirty = e.flagged(0, SIZE, Libnbd.DIRTY);
    assertEquals(2, dirty.size());
    assertArrayEquals(new long[] {1 << 20, (1 << 20) + 65536}, dirty.get(0)); // the bitmap's 64 KiB granularity
    assertArrayEquals(new long[] {3 << 20, (3 << 20) + 131072}, dirty.get(1));
    ByteBuffer b = ByteBuffer.allocateDirect(256 * 1024);
    e.read(b, (1 << 20) - 1024);
    b.flip();
    byte[] got = new byte[b.remaining()];
    b.get(got);
    assertArrayEquals(expected((1 << 20) - 1024, got.length), got);
  }

  @Test
  void overAUnixSocket() throws Exception {
    try (QemuNbd server = QemuNbd.serve(image, Optional.of("b1"), tmp.resolve("s"), "test");
        NbdExport e = NbdExport.unix(server.socket(), Optional.of("qemu:dirty-bitmap:b1"), "test")) {
      check(e);
    }
  }

  @Test
  void overTcpByExportName() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path pid = tmp.resolve("pid");
    HostCommand.run("qemu-nbd", "--fork", "--pid-file", pid.toString(), "-r", "-b", "127.0.0.1", "-p",
        Integer.toString(port), "-x", "vdb", "-B", "b1", "--image-opts", QemuImg.unlockedQcow2(image));
    try (NbdExport e = NbdExport.tcp("127.0.0.1", port, "vdb", Optional.of("qemu:dirty-bitmap:b1"),
        java.time.Duration.ofSeconds(30), "test")) {
      check(e);
    } finally {
      long p = Long.parseLong(Files.readString(pid).trim());
      ProcessHandle.of(p).ifPresent(ProcessHandle::destroy);
    }
  }

  @Test
  void aMissingBitmapFailsToServe() {
    IOException e = assertThrows(IOException.class,
        () -> QemuNbd.serve(image, Optional.of("nope"), tmp.resolve("s"), "serving d.qcow2").close());
    assertEquals(true, e.getMessage().startsWith("serving d.qcow2: qemu-nbd failed"), e.getMessage());
  }
}
