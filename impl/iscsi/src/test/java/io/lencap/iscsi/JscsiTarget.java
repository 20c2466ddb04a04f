package io.lencap.iscsi;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jscsi.target.Configuration;
import org.jscsi.target.Target;
import org.jscsi.target.TargetServer;
import org.jscsi.target.storage.IStorageModule;

/**
 * jSCSI's own target (2.4) in this JVM, serving one file-backed LUN 0 on a free port, for fast tests. It binds
 * all interfaces and has no stop method: {@link #close()} cancels its thread.
 */
final class JscsiTarget implements AutoCloseable {

  static final String IQN = "iqn.2024-01.io.lencap.test:jscsi";
  /**
   * Commands in flight for a session that writes to it: one. jSCSI's target runs a WRITE's data phase to its end
   * before it reads the next command, so a second WRITE sent meanwhile breaks its session (istgt and tgt take
   * several, as RFC 7143 allows).
   */
  static final int QUEUE_DEPTH = 1;

  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "jscsi-target");
    t.setDaemon(true);
    return t;
  });
  private final FileStorage storage;
  private final int port;
  private final Future<Void> server;

  JscsiTarget(Path file, long bytes) throws Exception {
    this.storage = new FileStorage(file, bytes);
    try (ServerSocket probe = new ServerSocket(0)) {
      this.port = probe.getLocalPort();
    }
    Configuration configuration = new Configuration() {
      {
        port = JscsiTarget.this.port;
        allowSloppyNegotiation = true;
        targets.add(new Target(IQN, "lencap test", storage));
      }
    };
    server = thread.submit(new TargetServer(configuration));
    awaitListening();
  }

  /**
   * Waits for the listening socket without connecting to it: jSCSI's target reads the first PDU on its accept
   * thread and stops serving when a connection closes before sending one.
   */
  private void awaitListening() throws Exception {
    String portHex = String.format(":%04X ", port);
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
        Path p = Path.of(table);
        if (Files.exists(p)) {
          for (String line : Files.readAllLines(p)) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 3 && (f[1] + " ").endsWith(portHex) && f[3].equals("0A")) {
              return;
            }
          }
        }
      }
      if (server.isDone()) {
        server.get(); // surfaces the target's failure
        throw new IllegalStateException("jSCSI target stopped before listening on " + port);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("jSCSI target not listening on " + port + " after 30 s");
      }
      Thread.sleep(10); // polling a kernel table, not standing in for synchronization
    }
  }

  URI locator(int lun) {
    return URI.create("iscsi://127.0.0.1:" + port + "/" + IQN + "/" + lun);
  }

  int port() {
    return port;
  }

  @Override
  public void close() throws IOException {
    server.cancel(true);
    thread.shutdownNow();
    storage.close();
  }

  /**
   * A LUN over a {@link FileChannel} (jSCSI's own modules open files for synchronous writes: 5 MiB/s). jSCSI's
   * target answers READ CAPACITY with the block count where SCSI wants the last LBA, so this module reports
   * one block less than it serves, making the capacity the initiator sees exact.
   */
  private static final class FileStorage implements IStorageModule {
    private final FileChannel channel;
    private final long blocks;

    FileStorage(Path file, long bytes) throws IOException {
      if (bytes % VIRTUAL_BLOCK_SIZE != 0) {
        throw new IllegalArgumentException("size must be whole blocks");
      }
      if (!Files.exists(file)) {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          c.truncate(bytes);
          c.write(ByteBuffer.allocate(1), bytes - 1);
        }
      }
      this.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
      this.blocks = bytes / VIRTUAL_BLOCK_SIZE;
    }

    @Override
    public int checkBounds(long lba, int length) {
      if (lba < 0 || lba >= blocks) {
        return 1;
      }
      if (length < 0 || lba + length > blocks) {
        return 2;
      }
      return 0;
    }

    @Override
    public long getSizeInBlocks() {
      return blocks - 1;
    }

    @Override
    public void read(byte[] bytes, int offset, int length, long index) throws IOException {
      ByteBuffer dst = ByteBuffer.wrap(bytes, offset, length);
      while (dst.hasRemaining()) {
        if (channel.read(dst, index + dst.position() - offset) < 0) {
          throw new IOException("read past the end of the LUN file");
        }
      }
    }

    @Override
    public void write(byte[] bytes, int offset, int length, long index) throws IOException {
      ByteBuffer src = ByteBuffer.wrap(bytes, offset, length);
      while (src.hasRemaining()) {
        channel.write(src, index + src.position() - offset);
      }
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
