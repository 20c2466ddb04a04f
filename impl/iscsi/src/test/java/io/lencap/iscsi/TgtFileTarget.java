package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real tgtd on a free loopback port serving file-backed LUNs 1.., with its own management channel (tgtd -C);
 * LUN 0 is tgt's controller, as always. Absent tgt skips the test, or fails it under lencap.it.require=true.
 */
final class TgtFileTarget implements AutoCloseable {

  static final String IQN = "iqn.2024-01.io.lencap.it:tgt-file";
  static final int TID = 1;

  private final int port;
  private final int control;
  private final Process tgtd;

  TgtFileTarget(Path dir, long... lunBytes) throws IOException, InterruptedException {
    if (!Files.isExecutable(Path.of("/usr/sbin/tgtd"))) {
      if (Boolean.getBoolean("lencap.it.require")) {
        fail("tgtd is missing: run scripts/setup/iscsi.sh");
      }
      Assumptions.abort("tgtd is missing: run scripts/setup/iscsi.sh");
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    control = 1000 + (port + 7) % 30000; // at most 32767, and not the channel TgtRbdGateway derives from a port
    tgtd = new ProcessBuilder("tgtd", "-f", "-C", Integer.toString(control), "--iscsi", "portal=127.0.0.1:" + port)
      .redirectErrorStream(true).redirectOutput(dir.resolve("tgtd-" + port + ".log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!accepts(port)) {
      if (!tgtd.isAlive() || System.nanoTime() > deadline) {
        close();
        fail("tgtd did not listen on " + port + ", see " + dir);
      }
      tgtd.waitFor(50, TimeUnit.MILLISECONDS); // returns at once if tgtd dies
    }
    check(TgtRbdGateway.tgtadm(control, "--op", "new", "--mode", "target", "--tid", "" + TID, "-T", IQN), "target");
    for (int i = 0; i < lunBytes.length; i++) {
      Path file = dir.resolve("tgt-lun" + (i + 1) + ".img");
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.setLength(lunBytes[i]);
      }
      check(TgtRbdGateway.tgtadm(control, "--op", "new", "--mode", "logicalunit", "--tid", "" + TID, "--lun",
        "" + (i + 1), "-b", file.toString()), "lun " + (i + 1));
    }
    check(TgtRbdGateway.tgtadm(control, "--op", "bind", "--mode", "target", "--tid", "" + TID, "-I", "ALL"), "bind");
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void check(int status, String what) {
    if (status != 0) {
      close();
      throw new IllegalStateException("tgtadm " + what + " failed with status " + status);
    }
  }

  URI locator(int lun) {
    return URI.create("iscsi://127.0.0.1:" + port + "/" + IQN + "/" + lun);
  }

  @Override
  public void close() {
    TgtRbdGateway.tgtadm(control, "--op", "delete", "--mode", "target", "--tid", "" + TID, "--force");
    TgtRbdGateway.tgtadm(control, "--op", "delete", "--mode", "system"); // tgtd ignores SIGTERM
    try {
      if (!tgtd.waitFor(30, TimeUnit.SECONDS)) {
        tgtd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
