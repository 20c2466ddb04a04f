package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.testing.Components;
import io.lencap.testing.HostCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NbdExport} against real qemu-nbd and libnbd: a qcow2 image with a persistent dirty bitmap, written through
 * qemu-io after the bitmap began, served over a Unix socket ({@link QemuNbd}, as a capture reads a frozen disk) and
 * over TCP (as a libvirt backup job's export on another host would be): the bitmap's extents and the bytes come back.
 */
class NbdExportIT {
  static final int SIZE = 4 << 20;

  @TempDir
  Path tmp;

  Path image;

  @BeforeEach
  void image() throws Exception {
    Components.requireCommand("qemu-nbd", "scripts/setup/libvirt.sh installs qemu-utils");
    Components.require(NbdExport.unavailable());
    image = tmp.resolve("d.qcow2");
    HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), Integer.toString(SIZE));
    HostCommand.run("qemu-io", "-c", "write -P 7 0 4M", image.toString());
    HostCommand.run("qemu-img", "bitmap", "--add", image.toString(), "b1");
    HostCommand.run("qemu-io", "-c", "write -P 9 1M 4k", "-c", "write -P 9 3M 128k", image.toString());
  }


  static byte[] expected(long offset, int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      long at = offset + i;
      boolean changed = at >= 1 << 20 && at < (1 << 20) + 4096 || at >= 3 << 20 && at < (3 << 20) + 128 * 1024;
      b[i] = (byte) (changed ? 9 : 7);
    }
    return b;
  }

  static void check(NbdExport e) throws IOException {
    assertEquals(SIZE, e.size());
    List<long[]> dirty = e.flagged(0, SIZE, Libnbd.DIRTY);
    assertEquals(2, dirty.size());
    assertArrayEquals(new long[] {1 << 20, (1 << 20) + 65536}, dirty.get(0)); // the bitmap's 64 KiB granularity
    assertArrayEquals(new long[] {3 << 20, (3 << 20) + 131072}, dirty.get(1));
    ByteBuffer b = ByteBuffer.allocateDirect(256 * 1024);
    e.read(b, (1 << 20) - 1024);
    b.flip();
    byte[] got = new byte[b.remaining()];
    b.get(got);
    assertArrayEquals(expected((1 << 20) - 1024, got.length), got);
  }

  @Test
  void overAUnixSocket() throws Exception {
    try (QemuNbd server = QemuNbd.serve(image, Optional.of("b1"), tmp.resolve("s"), "test");
        NbdExport e = NbdExport.unix(server.socket(), Optional.of("qemu:dirty-bitmap:b1"), "test")) {
      check(e);
    }
  }

  /** A qemu-nbd serving the image as export {@code vdb} on a free port of 127.0.0.1; exits with its one client. */
  private final class TcpServer implements AutoCloseable {
    final int port;
    private final Path pid = tmp.resolve("pid");

    TcpServer() throws IOException, InterruptedException {
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      HostCommand.run("qemu-nbd", "--fork", "--pid-file", pid.toString(), "-r", "-b", "127.0.0.1", "-p",
          Integer.toString(port), "-x", "vdb", "-B", "b1", "--image-opts", QemuImg.unlockedQcow2(image));
    }

    @Override
    public void close() throws IOException {
      long p = Long.parseLong(Files.readString(pid).trim());
      ProcessHandle.of(p).ifPresent(ProcessHandle::destroy);
    }
  }

  @Test
  void overTcpByExportName() throws Exception {
    try (TcpServer server = new TcpServer();
        NbdExport e = NbdExport.tcp("127.0.0.1", server.port, "vdb", Optional.of("qemu:dirty-bitmap:b1"),
            Duration.ofSeconds(30), "test")) {
      check(e);
    }
  }

  /**
   * The server stops answering mid-session (a host or link gone, the connection still open): a read fails at its
   * deadline, not when TCP gives up, and closing the export closes the connection. A proxy between libnbd and
   * qemu-nbd forwards the handshake, block status and a read, then freezes: it forwards nothing more either way
   * while holding both connections open.
   */
  @Test
  void aReadTheServerNeverAnswersFailsAtTheDeadline() throws Exception {
    Duration deadline = Duration.ofSeconds(1);
    ExecutorService reader = Executors.newSingleThreadExecutor();
    try (TcpServer server = new TcpServer(); FreezingProxy proxy = new FreezingProxy(server.port)) {
      NbdExport e = NbdExport.tcp("127.0.0.1", proxy.port(), "vdb", Optional.of("qemu:dirty-bitmap:b1"), deadline,
          "reading vdb");
      Future<IOException> read = null;
      try {
        check(e); // the normal path: the right extents and bytes through the proxy
        proxy.freeze();
        long start = System.nanoTime();
        read = reader.submit(() -> assertThrows(IOException.class, () -> e.read(ByteBuffer.allocateDirect(65536), 0)));
        IOException x;
        try {
          x = read.get(5 * deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException t) {
          throw new AssertionError("the read still waits after 5 times its deadline", t);
        }
        long took = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("NbdExportIT: unanswered read failed after %d ms (deadline %d ms)%n", took,
            deadline.toMillis());
        assertTrue(took >= deadline.toMillis(), "failed after " + took + " ms, before its deadline");
        assertTrue(x.getMessage().startsWith("reading vdb: no answer from the NBD server within 1 s (a read of 65536 "
            + "bytes at offset 0)"), x.getMessage());
        assertTrue(proxy.heldFromClient() > 0, "libnbd never sent the read: the deadline was not of an unanswered one");

        // The handle is broken now: a later call fails at once naming the export, and sends nothing.
        long held = proxy.heldFromClient();
        long again = System.nanoTime();
        IOException later = assertThrows(IOException.class, () -> e.read(ByteBuffer.allocateDirect(4096), 65536));
        assertThrows(IOException.class, e::size);
        assertThrows(IOException.class, () -> e.flagged(0, 65536, 1));
        long laterTook = (System.nanoTime() - again) / 1_000_000;
        assertTrue(later.getMessage().startsWith("reading vdb: the NBD connection is broken, an earlier read failed "
            + "(no answer from the NBD server within 1 s"), later.getMessage());
        assertTrue(laterTook < deadline.toMillis() / 2, "the calls after the broken read took " + laterTook + " ms");
        assertEquals(held, proxy.heldFromClient(), "a call after the broken read sent a request");
      } finally {
        if (read != null && !read.isDone()) { // the deadline did not fire: cut the link so that the reader ends
          proxy.close();
          read.cancel(false);
          reader.shutdown();
          reader.awaitTermination(30, TimeUnit.SECONDS);
        }
        e.close();
      }
      assertTrue(proxy.clientClosed.await(5, TimeUnit.SECONDS), "closing the export left its connection open");
      reader.shutdown();
      assertTrue(reader.awaitTermination(5, TimeUnit.SECONDS), "the reading thread is still blocked");
    } finally {
      reader.shutdownNow();
    }
  }

  /** A server that accepts the connection and then never answers fails the connection at its deadline. */
  @Test
  void aHandshakeTheServerNeverAnswersFailsAtTheDeadline() throws Exception {
    Duration deadline = Duration.ofMillis(500);
    try (TcpServer server = new TcpServer(); FreezingProxy proxy = new FreezingProxy(server.port)) {
      proxy.freeze();
      long start = System.nanoTime();
      IOException x = assertThrows(IOException.class,
          () -> NbdExport.tcp("127.0.0.1", proxy.port(), "vdb", Optional.empty(), deadline, "reading vdb").close());
      long took = (System.nanoTime() - start) / 1_000_000;
      System.out.printf("NbdExportIT: unanswered handshake failed after %d ms (deadline %d ms)%n", took,
          deadline.toMillis());
      assertTrue(took >= deadline.toMillis() && took < 5 * deadline.toMillis(), "failed after " + took + " ms");
      assertEquals("reading vdb: no answer from the NBD server within 0.5 s while connecting: the host or the link "
          + "to it is gone", x.getMessage());
      assertTrue(proxy.clientClosed.await(5, TimeUnit.SECONDS), "the failed connection was left open");
    }
  }

  /**
   * A TCP proxy for one connection that forwards both ways until {@link #freeze}; after it, forwards nothing more:
   * it keeps reading the client (to see it close) and holds both connections open.
   */
  private static final class FreezingProxy implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final int upstream;
    private final ExecutorService pumps = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "nbd-proxy");
      t.setDaemon(true);
      return t;
    });
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object forwarding = new Object();
    private boolean frozen; // guarded by forwarding
    private long held; // bytes from the client after the freeze; guarded by forwarding
    final CountDownLatch clientClosed = new CountDownLatch(1);

    FreezingProxy(int upstream) throws IOException {
      this.upstream = upstream;
      pumps.execute(this::accept);
    }

    int port() {
      return listener.getLocalPort();
    }

    /** After this returns, not one more byte goes through. */
    void freeze() {
      synchronized (forwarding) {
        frozen = true;
      }
    }

    long heldFromClient() {
      synchronized (forwarding) {
        return held;
      }
    }

    private void accept() {
      try {
        Socket client = listener.accept();
        sockets.add(client);
        Socket server = new Socket(InetAddress.getLoopbackAddress(), upstream);
        sockets.add(server);
        InputStream fromClient = client.getInputStream();
        OutputStream toServer = server.getOutputStream();
        InputStream fromServer = server.getInputStream();
        OutputStream toClient = client.getOutputStream();
        pumps.execute(() -> pump(fromClient, toServer, true));
        pumps.execute(() -> pump(fromServer, toClient, false));
      } catch (IOException e) {
        // closed
      }
    }

    private void pump(InputStream in, OutputStream out, boolean fromClient) {
      byte[] b = new byte[65536];
      try {
        for (int n; (n = in.read(b)) >= 0; ) {
          synchronized (forwarding) {
            if (!frozen) {
              out.write(b, 0, n);
            } else if (fromClient) {
              held += n;
            }
          }
        }
      } catch (IOException e) {
        // a socket closed
      }
      if (fromClient) {
        clientClosed.countDown();
      }
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
      pumps.shutdownNow();
    }
  }

  @Test
  void aMissingBitmapFailsToServe() {
    IOException e = assertThrows(IOException.class,
        () -> QemuNbd.serve(image, Optional.of("nope"), tmp.resolve("s"), "serving d.qcow2").close());
    assertEquals(true, e.getMessage().startsWith("serving d.qcow2: qemu-nbd failed"), e.getMessage());
  }
}
