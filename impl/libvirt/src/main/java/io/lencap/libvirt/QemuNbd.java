package io.lencap.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A {@code qemu-nbd} serving one frozen qcow2 image read-only on a Unix socket, with one persistent dirty bitmap as
 * the metadata context {@code qemu:dirty-bitmap:NAME}. It forks once the socket listens and exits when its one
 * client disconnects; {@link #close} stops it if it is still there.
 */
final class QemuNbd implements AutoCloseable {
  private final Path socket;
  private final Path pidFile;

  private QemuNbd(Path socket, Path pidFile) {
    this.socket = socket;
    this.pidFile = pidFile;
  }

  /** Serves {@code image}; fails with qemu-nbd's message (a bitmap missing or inconsistent, say). */
  static QemuNbd serve(Path image, Optional<String> bitmap, Path socket, String what) throws IOException {
    Path pid = socket.resolveSibling(socket.getFileName() + ".pid");
    Files.deleteIfExists(socket);
    Files.deleteIfExists(pid);
    List<String> command = new ArrayList<>(List.of("qemu-nbd", "--fork", "--pid-file", pid.toString(), "-r",
        "-k", socket.toString()));
    bitmap.ifPresent(b -> command.addAll(List.of("-B", b)));
    command.addAll(List.of("--image-opts", QemuImg.unlockedQcow2(image)));
    QemuNbd served = new QemuNbd(socket, pid);
    try {
      QemuImg.run(command, what);
    } catch (IOException | RuntimeException e) {
      served.close();
      throw e;
    }
    return served;
  }

  Path socket() {
    return socket;
  }

  @Override
  public void close() throws IOException {
    try {
      if (Files.exists(pidFile)) {
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        ProcessHandle.of(pid).filter(p -> p.info().command().map(c -> c.endsWith("qemu-nbd")).orElse(false))
            .ifPresent(ProcessHandle::destroy);
      }
    } catch (NumberFormatException e) {
      // not a pid: nothing of ours to stop
    } finally {
      Files.deleteIfExists(pidFile);
      Files.deleteIfExists(socket);
    }
  }
}
