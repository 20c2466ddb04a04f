package io.lencap.benchmarks.reference;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A real NFS-Ganesha (FSAL VFS) exporting one directory on loopback, with rpcbind made sure of (the
 * approach of the NFS provider's test fixture). Ganesha binds the fixed port 2049, so the machine-wide
 * lock file the tests use serialises it with them. Metadata caching is off: the benchmark changes the
 * exported files directly, behind Ganesha's back.
 */
public final class Ganesha implements AutoCloseable {
  static final String GANESHA = "/usr/bin/ganesha.nfsd";
  static final Path LOCK = Path.of(System.getProperty("java.io.tmpdir"), "lencap-ganesha-2049.lock");
  private final Path base;
  private final Path export;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private Process process;

  public Ganesha(Path base) throws IOException, InterruptedException {
    if (!Files.isExecutable(Path.of(GANESHA))) {
      throw new IllegalStateException(GANESHA + " is missing: run scripts/setup/nfs.sh");
    }
    this.base = Files.createDirectories(base);
    this.export = Files.createDirectories(base.resolve("export"));
    Files.createDirectories(base.resolve("recovery"));
    lockChannel = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    lock = lockChannel.lock(); // waits while a test elsewhere runs its Ganesha
    try {
      ensureRpcbind();
      Files.writeString(base.resolve("ganesha.conf"), "NFS_CORE_PARAM {\n  Bind_Addr = 127.0.0.1;\n"
          + "  Enable_NLM = false;\n  Enable_RQUOTA = false;\n  Enable_UDP = false;\n  Protocols = 3, 4;\n}\n"
          + "NFSV4 {\n  Graceless = true;\n  RecoveryBackend = fs;\n  RecoveryRoot = \"" + base.resolve("recovery")
          + "\";\n}\nLOG {\n  Default_Log_Level = EVENT;\n}\nMDCACHE {\n  Dir_Chunk = 0;\n}\n"
          + "EXPORT {\n  Export_Id = 1;\n  Path = \"" + export + "\";\n  Pseudo = \"/reference\";\n"
          + "  Access_Type = RW;\n  Squash = No_Root_Squash;\n  Protocols = 3, 4;\n  Transports = TCP;\n"
          + "  SecType = sys;\n  Attr_Expiration_Time = 0;\n  FSAL {\n    Name = VFS;\n  }\n}\n");
      if (portOpen()) {
        throw new IllegalStateException("port 2049 is taken by another NFS server: stop it first");
      }
      process = new ProcessBuilder(GANESHA, "-F", "-f", base.resolve("ganesha.conf").toString(), "-L",
          base.resolve("ganesha.log").toString(), "-p", base.resolve("ganesha.pid").toString())
          .redirectErrorStream(true).redirectOutput(base.resolve("ganesha.out").toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!(rpcinfo("-t", "127.0.0.1", "nfs", "3") && rpcinfo("-t", "127.0.0.1", "mountd", "3"))) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("ganesha.nfsd did not serve NFSv3: see " + base.resolve("ganesha.log"));
        }
        Thread.sleep(100); // polling interval
      }
    } catch (IOException | RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
  }

  /** The exported directory on this machine. */
  public Path dir() {
    return export;
  }

  public String locator() {
    return "nfs://127.0.0.1" + export;
  }

  private static void ensureRpcbind() throws IOException, InterruptedException {
    if (rpcinfo("-p", "127.0.0.1")) {
      return;
    }
    Files.createDirectories(Path.of("/run/rpcbind"));
    // Left running, like the setup script's. Never "-h 127.0.0.1": it crashes rpcbind.
    new ProcessBuilder("/usr/sbin/rpcbind", "-f", "-w").redirectErrorStream(true)
        .redirectOutput(Path.of(System.getProperty("java.io.tmpdir"), "lencap-rpcbind.log").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!rpcinfo("-p", "127.0.0.1")) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("rpcbind did not answer within 60 s");
      }
      Thread.sleep(100);
    }
  }

  private static boolean rpcinfo(String... args) throws IOException, InterruptedException {
    try {
      String[] cmd = new String[args.length + 1];
      cmd[0] = "/usr/sbin/rpcinfo";
      System.arraycopy(args, 0, cmd, 1, args.length);
      Sh.run(5, cmd);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean portOpen() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", 2049), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      if (process != null && process.isAlive()) {
        process.destroy(); // SIGTERM: Ganesha unregisters from rpcbind
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (portOpen() && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.release();
      lockChannel.close();
    }
  }
}
