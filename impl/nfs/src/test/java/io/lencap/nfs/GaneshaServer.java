package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real NFS-Ganesha (FSAL VFS) for one test class: rpcbind made sure of, its own config, exports over temp
 * directories, output to files, readiness polled, stopped by PID. Ganesha binds the fixed NFS port 2049, so
 * one server runs at a time on the machine: a lock (in this JVM and across JVMs, a file lock) serialises
 * test classes and other modules' tests. Missing Ganesha or rpcbind skips the class, or fails it when
 * {@code lencap.it.require=true} (the project's test script sets it).
 *
 * <pre>{@code @RegisterExtension static GaneshaServer nfs = new GaneshaServer("a", "b");}</pre>
 */
final class GaneshaServer implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
  static final String GANESHA = "/usr/bin/ganesha.nfsd";
  static final String RPCBIND = "/usr/sbin/rpcbind";
  static final String RPCINFO = "/usr/sbin/rpcinfo";
  private static final long READY_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final Semaphore IN_JVM = new Semaphore(1);
  private static final Path LOCK_FILE = Path.of(System.getProperty("java.io.tmpdir"), "lencap-ganesha-2049.lock");

  private final List<String> exportNames;
  private final Map<String, Path> exports = new LinkedHashMap<>();
  private Path base;
  private Process process;
  private FileChannel lockChannel;
  private FileLock lock;
  private boolean held;
  private boolean serverCaching;

  GaneshaServer(String... exportNames) {
    this.exportNames = List.of(exportNames);
  }

  /**
   * Keeps Ganesha's own metadata caching (attributes, directory entries), as a NAS in service would. By
   * default the fixture turns it off because tests change the exported directories behind Ganesha's back;
   * with caching on, change the tree through NFS only.
   */
  GaneshaServer serverCaching() {
    serverCaching = true;
    return this;
  }

  /** Skips (or fails under lencap.it.require=true) when Ganesha or rpcbind is not installed. */
  static void assumeInstalled() {
    for (String bin : new String[] {GANESHA, RPCBIND, RPCINFO}) {
      if (!Files.isExecutable(Path.of(bin))) {
        String why = bin + " is missing: run scripts/setup/nfs.sh";
        if (Boolean.getBoolean("lencap.it.require")) {
          fail(why);
        }
        Assumptions.abort(why);
      }
    }
    if (Stream.of("/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so", "/usr/lib/aarch64-linux-gnu/ganesha/libfsalvfs.so",
        "/usr/lib/ganesha/libfsalvfs.so").noneMatch(p -> Files.exists(Path.of(p)))) {
      String why = "Ganesha's FSAL VFS (nfs-ganesha-vfs) is missing: run scripts/setup/nfs.sh";
      if (Boolean.getBoolean("lencap.it.require")) {
        fail(why);
      }
      Assumptions.abort(why);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    assumeInstalled();
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  /** Takes the machine-wide lock, makes the export directories and starts the server. */
  GaneshaServer start() throws IOException, InterruptedException {
    IN_JVM.acquire();
    held = true;
    boolean ok = false;
    try {
      lockChannel = FileChannel.open(LOCK_FILE, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      lock = lockChannel.lock(); // waits while another JVM's test runs its server
      ensureRpcbind();
      base = Files.createTempDirectory("lencap-nfs-it-");
      Files.createDirectories(base.resolve("recovery"));
      for (String name : exportNames) {
        exports.put(name, Files.createDirectories(base.resolve("exports").resolve(name)));
      }
      writeConfig();
      launch();
      ok = true;
      return this;
    } finally {
      if (!ok) {
        close();
      }
    }
  }

  /** The export's directory on this machine (Ganesha's VFS serves it as it is). */
  Path dir(String export) {
    return exports.get(export);
  }

  /** {@code nfs://127.0.0.1/<dir>}: the export's locator. */
  String locator(String export) {
    return "nfs://127.0.0.1" + dir(export);
  }

  Path base() {
    return base;
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
      process = null;
      awaitPortFree();
    }
  }

  /** Starts the server again after {@link #kill()}, on the same exports. */
  void restart() throws IOException, InterruptedException {
    if (process == null) {
      launch();
    }
  }

  @Override
  public void close() {
    try {
      if (process != null) {
        process.destroy(); // SIGTERM: Ganesha shuts down and unregisters from rpcbind
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(20, TimeUnit.SECONDS);
        }
        process = null;
        awaitPortFree();
      }
      if (base != null) {
        deleteTree(base);
        base = null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      try {
        if (lock != null) {
          lock.release();
        }
        if (lockChannel != null) {
          lockChannel.close();
        }
      } catch (IOException ignored) {
        // the lock goes with the channel
      }
      lock = null;
      lockChannel = null;
      if (held) {
        held = false;
        IN_JVM.release();
      }
    }
  }

  private void launch() throws IOException, InterruptedException {
    if (portOpen()) {
      throw new IllegalStateException("port 2049 is taken by another NFS server (a Ganesha left running? "
          + "see `ss -ltnp | grep 2049`): stop it before running these tests");
    }
    Path out = base.resolve("ganesha.out");
    process = new ProcessBuilder(GANESHA, "-F", "-f", base.resolve("ganesha.conf").toString(),
        "-L", base.resolve("ganesha.log").toString(), "-p", base.resolve("ganesha.pid").toString())
        .redirectErrorStream(true).redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullFile()))
        .start();
    long deadline = System.nanoTime() + READY_NANOS;
    while (!(rpcinfo("-t", "127.0.0.1", "nfs", "3") && rpcinfo("-t", "127.0.0.1", "mountd", "3"))) {
      if (!process.isAlive()) {
        throw new IllegalStateException("ganesha.nfsd exited with " + process.exitValue() + ": see " + out + " and "
            + base.resolve("ganesha.log") + "\n" + tail(base.resolve("ganesha.log")));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("ganesha.nfsd did not serve NFSv3 within 60 s: see "
            + base.resolve("ganesha.log"));
      }
      Thread.sleep(100); // polling interval, not a wait for readiness
    }
  }

  private static void ensureRpcbind() throws IOException, InterruptedException {
    if (rpcinfo("-p", "127.0.0.1")) {
      return;
    }
    Path log = Path.of(System.getProperty("java.io.tmpdir"), "lencap-rpcbind.log");
    Files.createDirectories(Path.of("/run/rpcbind"));
    // Left running for later tests, like the setup script's. Never "-h 127.0.0.1": it crashes rpcbind.
    new ProcessBuilder(RPCBIND, "-f", "-w").redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(nullFile())).start();
    long deadline = System.nanoTime() + READY_NANOS;
    while (!rpcinfo("-p", "127.0.0.1")) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("rpcbind did not answer within 60 s: see " + log);
      }
      Thread.sleep(100);
    }
  }

  private static boolean rpcinfo(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("timeout", "5", RPCINFO));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
  }

  private void writeConfig() throws IOException {
    StringBuilder c = new StringBuilder();
    c.append("NFS_CORE_PARAM {\n  Bind_Addr = 127.0.0.1;\n  Enable_NLM = false;\n  Enable_RQUOTA = false;\n")
        .append("  Enable_UDP = false;\n  Protocols = 3, 4;\n}\n")
        .append("NFSV4 {\n  Graceless = true;\n  RecoveryBackend = fs;\n  RecoveryRoot = \"")
        .append(base.resolve("recovery")).append("\";\n}\n")
        .append("LOG {\n  Default_Log_Level = EVENT;\n}\n");
    if (!serverCaching) {
      // Tests also change the exported directories directly: do not let Ganesha serve cached metadata.
      c.append("MDCACHE {\n  Dir_Chunk = 0;\n}\n");
    }
    int id = 1;
    for (Map.Entry<String, Path> e : exports.entrySet()) {
      c.append("EXPORT {\n  Export_Id = ").append(id++).append(";\n  Path = \"").append(e.getValue())
          .append("\";\n  Pseudo = \"/").append(e.getKey()).append("\";\n  Access_Type = RW;\n")
          .append("  Squash = No_Root_Squash;\n  Protocols = 3, 4;\n  Transports = TCP;\n  SecType = sys;\n")
          .append(serverCaching ? "" : "  Attr_Expiration_Time = 0;\n").append("  FSAL {\n    Name = VFS;\n  }\n}\n");
    }
    Files.writeString(base.resolve("ganesha.conf"), c);
  }

  private static boolean portOpen() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", 2049), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void awaitPortFree() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (portOpen() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
  }

  private static java.io.File nullFile() {
    return new java.io.File("/dev/null");
  }

  private static String tail(Path p) {
    try {
      List<String> lines = Files.readAllLines(p);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
