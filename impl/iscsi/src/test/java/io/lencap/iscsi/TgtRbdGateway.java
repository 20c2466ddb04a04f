package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.api.Resource;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A Ceph iSCSI gateway for one test class: a real tgtd on a free loopback port whose LUNs are RBD images of
 * the project's Ceph cluster ({@code scripts/setup/ceph.sh}), through tgt's rbd backing store (tgt-rbd). RBD
 * can snapshot, so this is the target {@link RbdSnapshots} proves {@code StorageSnapshot} on. Absent parts
 * skip the test, or fail it when {@code lencap.it.require} is {@code true}.
 */
final class TgtRbdGateway implements AutoCloseable {
  static final String CEPH_CONF = "/var/lib/lencap/ceph/ceph.conf";
  static final String POOL = "lencap-rbd";
  static final String IQN = "iqn.2026-11.io.lencap.it:rbd";
  static final int TID = 1;

  private final Path dir;
  private final int port;
  private final int control;
  private final Process tgtd;
  private final List<String> images = new ArrayList<>();

  /** Skips (or fails under lencap.it.require=true) when tgt, its rbd backing store or the cluster is missing. */
  static void assumeAvailable() {
    String missing = !Files.isExecutable(Path.of("/usr/sbin/tgtd")) ? "tgtd (scripts/setup/iscsi.sh)"
        : !Files.exists(Path.of("/usr/lib/tgt/backing-store/bs_rbd.so")) ? "tgt-rbd (scripts/setup/iscsi.sh)"
        : !Files.exists(Path.of(CEPH_CONF)) || run(30, "ceph", "-c", CEPH_CONF, "health") != 0
            ? "a running Ceph cluster (scripts/setup/ceph.sh)" : null;
    if (missing != null) {
      if (Boolean.getBoolean("lencap.it.require")) {
        fail("missing " + missing);
      }
      Assumptions.abort("missing " + missing);
    }
  }

  TgtRbdGateway(Path logDir) throws IOException, InterruptedException {
    assumeAvailable();
    this.dir = logDir;
    check(run(60, "ceph", "-c", CEPH_CONF, "osd", "pool", "create", POOL, "8"), "create pool " + POOL);
    check(rbd("pool", "init", POOL), "init pool " + POOL);
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    control = 1000 + port % 30000; // tgtd's management channel number: at most 32767, unique with the port
    tgtd = new ProcessBuilder("tgtd", "-f", "-C", Integer.toString(control), "--iscsi", "portal=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(logDir.resolve("tgtd-" + port + ".log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!accepts(port)) {
      if (!tgtd.isAlive() || System.nanoTime() > deadline) {
        close();
        fail("tgtd did not listen on " + port + ", see " + logDir);
      }
      Thread.sleep(50);
    }
    check(tgtadm(control, "--op", "new", "--mode", "target", "--tid", "" + TID, "-T", IQN), "new target");
    check(tgtadm(control, "--op", "bind", "--mode", "target", "--tid", "" + TID, "-I", "ALL"), "bind");
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Imports {@code content} as a new RBD image and serves it as {@code lun}; returns its locator. */
  URI lun(int lun, String image, Path content) {
    check(rbd("import", "--no-progress", content.toString(), POOL + "/" + image), "import " + image);
    images.add(image);
    check(tgtadm(control, "--op", "new", "--mode", "logicalunit", "--tid", "" + TID, "--lun", "" + lun,
        "--bstype", "rbd", "--backing-store", POOL + "/" + image, "--bsopts", "conf=" + CEPH_CONF), "lun " + lun);
    return locator(lun);
  }

  /** A new image of {@code bytes} seeded random bytes served as LUN 1; a member {@link RbdSnapshots} supports. */
  Resource randomLun(String image, long bytes, long seed) throws IOException {
    byte[] content = new byte[Math.toIntExact(bytes)];
    new java.util.Random(seed).nextBytes(content);
    Path file = dir.resolve(image + ".img");
    Files.write(file, content);
    try {
      return Resource.builder("lun").type("block").locator(lun(1, image, file))
          .property(RbdSnapshots.IMAGE, POOL + "/" + image).property(RbdSnapshots.CONTROL, Integer.toString(control))
          .build();
    } finally {
      Files.delete(file);
    }
  }

  URI locator(int lun) {
    return URI.create("iscsi://127.0.0.1:" + port + "/" + IQN + "/" + lun);
  }

  int controlPort() {
    return control;
  }

  /** The snapshots an image has, by name. */
  List<String> snapshots(String image) {
    String out = output(30, "rbd", "-c", CEPH_CONF, "--admin-socket", "", "snap", "ls", POOL + "/" + image);
    return out.lines().skip(1).map(l -> l.trim().split("\\s+")).filter(f -> f.length > 1).map(f -> f[1]).toList();
  }

  /** What {@code tgtadm --op show} says of the target: its LUNs and their backing stores. */
  String show() {
    return show(control);
  }

  static String show(int controlPort) {
    return output(30, "tgtadm", "-C", "" + controlPort, "--lld", "iscsi", "--op", "show", "--mode", "target");
  }

  @Override
  public void close() {
    tgtadm(control, "--op", "delete", "--mode", "target", "--tid", "" + TID, "--force");
    tgtadm(control, "--op", "delete", "--mode", "system"); // tgtd ignores SIGTERM
    try {
      if (!tgtd.waitFor(30, TimeUnit.SECONDS)) {
        tgtd.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL: tgtd ignores SIGTERM
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (String image : images) {
      rbd("snap", "purge", POOL + "/" + image);
      rbd("rm", "--no-progress", POOL + "/" + image);
    }
  }

  static int tgtadm(int controlPort, String... args) {
    List<String> cmd = new ArrayList<>(List.of("tgtadm", "-C", Integer.toString(controlPort), "--lld", "iscsi"));
    cmd.addAll(List.of(args));
    return run(30, cmd.toArray(String[]::new));
  }

  static int rbd(String... args) {
    List<String> cmd = new ArrayList<>(List.of("rbd", "-c", CEPH_CONF, "--admin-socket", ""));
    cmd.addAll(List.of(args));
    return run(120, cmd.toArray(String[]::new));
  }

  /** Runs a command, output discarded; its exit status, or -1 when it did not start or finish in time. */
  static int run(int seconds, String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** A command's standard output when it exits 0 in time; empty otherwise. */
  static java.util.Optional<String> outputIfOk(int seconds, String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return java.util.Optional.empty();
      }
      return p.exitValue() == 0 ? java.util.Optional.of(out) : java.util.Optional.empty();
    } catch (IOException e) {
      return java.util.Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return java.util.Optional.empty();
    }
  }

  static String output(int seconds, String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(seconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed");
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", command) + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void check(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + " failed with status " + status);
    }
  }
}
