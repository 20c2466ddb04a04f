package io.lencap.libvirt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@code qemu-nbd} serving one frozen qcow2 image read-only on a Unix socket, with one persistent dirty bitmap as
 * the metadata context {@code qemu:dirty-bitmap:NAME}. It forks once the socket listens and exits when its one
 * client disconnects; {@link #close} stops it if it is still there.
 */
final class QemuNbd implements AutoCloseable {
  private static final Duration EXIT_WAIT = Duration.ofSeconds(60);
  private final Path socket;
  private final Path pidFile;

  /** Whether {@link #close} waits for the server to exit: a writable one stores the image's bitmaps as it does. */
  private final boolean waitForExit;

  private QemuNbd(Path socket, Path pidFile, boolean waitForExit) {
    this.socket = socket;
    this.pidFile = pidFile;
    this.waitForExit = waitForExit;
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
    QemuNbd served = new QemuNbd(socket, pid, false);
    try {
      QemuImg.run(command, what);
    } catch (IOException | RuntimeException e) {
      served.close();
      throw e;
    }
    return served;
  }

  /**
   * Serves {@code image} writable, taking QEMU's lock on it (so nothing else has it open for writing): for a restore
   * into a stopped domain's image. Its persistent bitmaps stay loaded and go on recording.
   */
  static QemuNbd serveWritable(Path image, Path socket, String what) throws IOException {
    Path pid = socket.resolveSibling(socket.getFileName() + ".pid");
    Files.deleteIfExists(socket);
    Files.deleteIfExists(pid);
    QemuNbd served = new QemuNbd(socket, pid, true);
    try {
      QemuImg.run(List.of("qemu-nbd", "--fork", "--pid-file", pid.toString(), "-k", socket.toString(),
          "--image-opts", "driver=qcow2,file.driver=file,file.filename=" + image.toString().replace(",", ",,")), what);
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
        Optional<ProcessHandle> server = ProcessHandle.of(pid)
            .filter(p -> p.info().command().map(c -> c.endsWith("qemu-nbd")).orElse(false));
        server.ifPresent(ProcessHandle::destroy);
        if (waitForExit) { // it closes the image (storing its bitmaps) as it exits: the next to open it waits for that
          server.ifPresent(p -> p.onExit().completeOnTimeout(p, EXIT_WAIT.toSeconds(), TimeUnit.SECONDS).join());
        }
      }
    } catch (NumberFormatException e) {
      // not a pid: nothing of ours to stop
    } finally {
      Files.deleteIfExists(pidFile);
      Files.deleteIfExists(socket);
    }
  }
}
