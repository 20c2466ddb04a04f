package io.lencap.benchmarks.reference;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real istgt serving one file-backed LUN on a free loopback port: its own config, output to a file,
 * readiness polled, stopped by PID (the approach of the iSCSI provider's test fixture).
 */
public final class Istgt implements AutoCloseable {
  static final String ISTGT = "/usr/sbin/istgt";
  static final String IQN = "iqn.2024-01.io.lencap.bench:reference";
  private final Path dir;
  private final Path image;
  private final int port;
  private final Process process;

  public Istgt(Path dir, long lunBytes) throws IOException, InterruptedException {
    if (!Files.isExecutable(Path.of(ISTGT))) {
      throw new IllegalStateException(ISTGT + " is missing: run scripts/setup/iscsi.sh");
    }
    this.dir = Files.createDirectories(dir);
    this.image = dir.resolve("lun0.img");
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(lunBytes);
    }
    this.port = freePort();
    int control = freePort();
    Files.writeString(dir.resolve("auth.conf"), "");
    Files.writeString(dir.resolve("istgt.conf"), "[Global]\n  NodeBase \"iqn.2024-01.io.lencap.bench\"\n"
        + "  PidFile " + dir.resolve("istgt.pid") + "\n  AuthFile " + dir.resolve("auth.conf") + "\n"
        + "  MediaDirectory " + dir + "\n  Timeout 30\n  NopInInterval 20\n  MaxSessions 16\n  MaxConnections 4\n"
        + "  MaxR2T 32\n  MaxOutstandingR2T 16\n  FirstBurstLength 262144\n  MaxBurstLength 1048576\n"
        + "  MaxRecvDataSegmentLength 262144\n"
        + "[UnitControl]\n  AuthMethod None\n  Portal UC1 127.0.0.1:" + control + "\n  Netmask 127.0.0.1\n"
        + "[PortalGroup1]\n  Portal DA1 127.0.0.1:" + port + "\n"
        + "[InitiatorGroup1]\n  InitiatorName \"ALL\"\n  Netmask 127.0.0.1\n"
        + "[LogicalUnit1]\n  TargetName reference\n  Mapping PortalGroup1 InitiatorGroup1\n  UnitType Disk\n"
        + "  QueueDepth 32\n  AuthMethod None\n  LUN0 Storage " + image + " Auto\n");
    Path log = dir.resolve("istgt.log");
    process = new ProcessBuilder(ISTGT, "-D", "-c", dir.resolve("istgt.conf").toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!listening()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        close();
        throw new IOException("istgt did not listen on 127.0.0.1:" + port + ": " + Files.readString(log));
      }
      process.waitFor(50, TimeUnit.MILLISECONDS); // returns early if istgt dies
    }
  }

  private boolean listening() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** The LUN's backing file (istgt reads and writes it without caching). */
  public Path image() {
    return image;
  }

  public URI locator() {
    return URI.create("iscsi://127.0.0.1:" + port + "/" + IQN + "/0");
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
