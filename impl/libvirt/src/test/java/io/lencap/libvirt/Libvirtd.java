package io.lencap.libvirt;

import io.lencap.testing.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** The libvirtd that scripts/setup/libvirt.sh started: killed and started again for fault injection. */
final class Libvirtd {
  static final Path PID = Path.of("/run/libvirtd.pid");
  static final Path SETUP = Path.of("../../scripts/setup/libvirt.sh").toAbsolutePath().normalize();

  private Libvirtd() {}

  /** SIGKILL, as a crash would: no chance to finish jobs. Waits until the process is gone. */
  static void kill() throws Exception {
    long pid = Long.parseLong(Files.readString(PID).trim());
    ProcessHandle p = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no libvirtd " + pid));
    p.destroyForcibly();
    p.onExit().get(30, TimeUnit.SECONDS);
  }

  /** SIGSTOP: libvirtd hangs, its sockets stay open, nothing it runs answers until {@link #cont}. */
  static void stop() throws Exception {
    HostCommand.run("kill", "-STOP", Files.readString(PID).trim());
  }

  /** SIGCONT: a hung libvirtd goes on where it stopped. */
  static void cont() throws Exception {
    HostCommand.run("kill", "-CONT", Files.readString(PID).trim());
  }

  /** Starts libvirtd with the project's setup script, which waits until it answers. */
  static void start() throws Exception {
    HostCommand.run("bash", SETUP.toString());
  }

  static void awaitAnswer() throws Exception {
    start(); // idempotent: returns at once when libvirtd answers
  }

  /** Waits for a file with the suffix to appear in the directory (polling; the snapshot writes it). */
  static void awaitFile(Path dir, String suffix) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.isDirectory(dir)) {
        try (Stream<Path> s = Files.list(dir)) {
          if (s.anyMatch(p -> p.toString().endsWith(suffix))) {
            return;
          }
        }
      }
      TimeUnit.MILLISECONDS.sleep(2);
    }
    throw new AssertionError("no *" + suffix + " appeared in " + dir);
  }
}
