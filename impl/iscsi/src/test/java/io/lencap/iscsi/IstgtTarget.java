package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real istgt for one test class: its own config in a temp directory, file-backed LUNs, a free loopback port,
 * output to a file, readiness polled, stopped by PID. Absent istgt skips the test, or fails it when the system
 * property {@code lencap.it.require} is {@code true} (the project's test script sets it).
 */
final class IstgtTarget implements AutoCloseable {

  static final String NODE_BASE = "iqn.2024-01.io.lencap.it";
  static final String ISTGT = "/usr/sbin/istgt";

  /**
   * One target (istgt LogicalUnit) with its LUN sizes, optionally CHAP-protected; with a target user and secret,
   * mutual CHAP ({@code AuthMethod CHAP Mutual}): istgt then proves it knows its own secret.
   */
  record Spec(String name, List<Long> lunBytes, String chapUser, String chapSecret, String targetUser,
      String targetSecret) {
    static Spec of(String name, long... lunBytes) {
      List<Long> sizes = new ArrayList<>();
      for (long b : lunBytes) {
        sizes.add(b);
      }
      return new Spec(name, sizes, null, null, null, null);
    }

    Spec withChap(String user, String secret) {
      return new Spec(name, lunBytes, user, secret, null, null);
    }

    Spec withMutualChap(String user, String secret, String targetUser, String targetSecret) {
      return new Spec(name, lunBytes, user, secret, targetUser, targetSecret);
    }
  }

  private final Path dir;
  private final Map<String, Spec> specs = new LinkedHashMap<>();
  private final int port;
  private final int controlPort;
  private Process process;

  /** Skips (or fails under lencap.it.require=true) when istgt is not installed. */
  static void assumeInstalled() {
    if (!Files.isExecutable(Path.of(ISTGT))) {
      String why = ISTGT + " is missing: run scripts/setup/iscsi.sh";
      if (Boolean.getBoolean("lencap.it.require")) {
        fail(why);
      }
      Assumptions.abort(why);
    }
  }

  IstgtTarget(Path dir, Spec... targets) throws IOException {
    assumeInstalled();
    this.dir = dir;
    for (Spec s : targets) {
      specs.put(s.name(), s);
    }
    this.port = freePort();
    this.controlPort = freePort();
    for (Spec s : targets) {
      for (int lun = 0; lun < s.lunBytes().size(); lun++) {
        Path image = lunFile(s.name(), lun);
        if (!Files.exists(image)) {
          try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(s.lunBytes().get(lun));
          }
        }
      }
    }
    writeConfig();
    start();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  Path lunFile(String target, int lun) {
    return dir.resolve(target + "-lun" + lun + ".img");
  }

  URI locator(String target, int lun) {
    return URI.create("iscsi://127.0.0.1:" + port + "/" + iqn(target) + "/" + lun);
  }

  static String iqn(String target) {
    return NODE_BASE + ":" + target;
  }

  int port() {
    return port;
  }

  private void writeConfig() throws IOException {
    StringBuilder auth = new StringBuilder();
    StringBuilder conf = new StringBuilder();
    conf.append("[Global]\n")
      .append("  NodeBase \"").append(NODE_BASE).append("\"\n")
      .append("  PidFile ").append(dir.resolve("istgt.pid")).append('\n')
      .append("  AuthFile ").append(dir.resolve("auth.conf")).append('\n')
      .append("  MediaDirectory ").append(dir).append('\n')
      .append("  Timeout 30\n  NopInInterval 20\n  MaxSessions 16\n  MaxConnections 4\n")
      .append("  MaxR2T 32\n  MaxOutstandingR2T 16\n  FirstBurstLength 262144\n  MaxBurstLength 1048576\n")
      .append("  MaxRecvDataSegmentLength 262144\n")
      .append("[UnitControl]\n  AuthMethod None\n  Portal UC1 127.0.0.1:").append(controlPort)
      .append("\n  Netmask 127.0.0.1\n")
      .append("[PortalGroup1]\n  Portal DA1 127.0.0.1:").append(port).append('\n')
      .append("[InitiatorGroup1]\n  InitiatorName \"ALL\"\n  Netmask 127.0.0.1\n");
    int unit = 1;
    for (Spec s : specs.values()) {
      conf.append("[LogicalUnit").append(unit).append("]\n")
        .append("  TargetName ").append(s.name()).append('\n')
        .append("  Mapping PortalGroup1 InitiatorGroup1\n")
        .append("  UnitType Disk\n")
        .append("  QueueDepth 32\n");
      if (s.chapUser() != null) {
        auth.append("[AuthGroup").append(unit).append("]\n  Auth \"").append(s.chapUser()).append("\" \"")
          .append(s.chapSecret()).append('"');
        if (s.targetUser() != null) {
          auth.append(" \"").append(s.targetUser()).append("\" \"").append(s.targetSecret()).append('"');
        }
        auth.append('\n');
        conf.append(s.targetUser() != null ? "  AuthMethod CHAP Mutual\n" : "  AuthMethod CHAP\n")
          .append("  AuthGroup AuthGroup").append(unit).append('\n');
      } else {
        conf.append("  AuthMethod None\n");
      }
      for (int lun = 0; lun < s.lunBytes().size(); lun++) {
        conf.append("  LUN").append(lun).append(" Storage ").append(lunFile(s.name(), lun)).append(" Auto\n");
      }
      unit++;
    }
    Files.writeString(dir.resolve("auth.conf"), auth.toString());
    Files.writeString(dir.resolve("istgt.conf"), conf.toString());
  }

  /** Starts istgt and waits until its portal accepts connections. */
  void start() throws IOException {
    Path log = dir.resolve("istgt.log");
    process = new ProcessBuilder(ISTGT, "-D", "-c", dir.resolve("istgt.conf").toString())
      .redirectErrorStream(true)
      .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
      .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException e) {
        if (!process.isAlive()) {
          throw new IOException("istgt exited with " + process.exitValue() + ": " + Files.readString(log));
        }
        if (System.nanoTime() > deadline) {
          stop();
          throw new IOException("istgt did not listen on 127.0.0.1:" + port + " within 30 s: "
            + Files.readString(log));
        }
        try {
          process.waitFor(50, TimeUnit.MILLISECONDS); // returns early if istgt dies
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", ie);
        }
      }
    }
  }

  /** Kills istgt at once (SIGKILL), as a crashed target. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  void stop() {
    if (process != null && process.isAlive()) {
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

  @Override
  public void close() {
    stop();
  }
}
