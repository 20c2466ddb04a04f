package io.lencap.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A client of one NBD export through libnbd: its size, the extents a metadata context flags (a
 * {@code qemu:dirty-bitmap:NAME}), and reads. Over a Unix socket here; {@link #tcp} reaches an export on another
 * host (a libvirt backup job's), the same way. One thread at a time. A read that passes its deadline leaves its
 * command in flight and the connection in an unknown state: the export is then broken, and every later call fails at
 * once naming it (a connection that passes its deadline is closed before it is handed out).
 */
final class NbdExport implements AutoCloseable {
  /** Block status is asked for at most this much at once (the protocol's lengths are 32-bit). */
  private static final long STATUS_SPAN = 1L << 30;

  private final Libnbd nbd;
  private final Pointer h;
  private final String what;
  private final Optional<String> context;
  /** How long a remote read may go unanswered; empty for a local export (a Unix socket of this host's QEMU). */
  private volatile Optional<Duration> timeout = Optional.empty();
  /** Why the handle must not be used any more (a read passed its deadline), once it is so. */
  private volatile Optional<String> broken = Optional.empty();

  private NbdExport(Libnbd nbd, Pointer h, String what, Optional<String> context) {
    this.nbd = nbd;
    this.h = h;
    this.what = what;
    this.context = context;
  }

  /** Why no export can be read here (libnbd missing), if so. */
  static Optional<String> unavailable() {
    try {
      Libnbd.load();
      return Optional.empty();
    } catch (LinkageError e) {
      return Optional.of("libnbd is not installed (Debian package libnbd0; scripts/setup/libvirt.sh installs it)");
    }
  }

  /** Connects to the export at a Unix socket, negotiating {@code context} if given. */
  static NbdExport unix(Path socket, Optional<String> context, String what) throws IOException {
    return open(context, what, (n, h) -> n.nbd_connect_unix(h, socket.toString()));
  }

  /**
   * Connects to the export {@code name} at {@code host:port}. libnbd's blocking calls wait as long as TCP does (a
   * cut link: minutes), so the connection and every read go through its asynchronous calls, polled against a
   * deadline: a host that stops answering fails the read after {@code timeout} with an {@link IOException}.
   */
  static NbdExport tcp(String host, int port, String name, Optional<String> context, Duration timeout, String what)
      throws IOException {
    NbdExport e = open(context, what, (n, h) -> n.nbd_set_export_name(h, name) < 0 ? -1
        : connectWithin(n, h, host, port, timeout, what));
    e.timeout = Optional.of(timeout);
    return e;
  }

  private static int connectWithin(Libnbd n, Pointer h, String host, int port, Duration timeout, String what) {
    if (n.nbd_aio_connect_tcp(h, host, Integer.toString(port)) < 0) {
      return -1;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (n.nbd_aio_is_connecting(h) == 1) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new NbdTimeout(what + ": no answer from the NBD server within " + seconds(timeout) + " while "
            + "connecting: the host or the link to it is gone");
      }
      if (n.nbd_poll(h, (int) Math.min(1000, Math.max(1, left / 1_000_000))) < 0) {
        return -1;
      }
    }
    return n.nbd_aio_is_ready(h) == 1 ? 0 : -1;
  }

  /** {@code 30 s}, or {@code 0.5 s} for a deadline that is not whole seconds. */
  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
  }

  /** A deadline passed inside libnbd's state machine; {@link #open} turns it into an {@link IOException}. */
  private static final class NbdTimeout extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NbdTimeout(String message) {
      super(message, null, false, false);
    }
  }

  private interface Connect {
    int apply(Libnbd nbd, Pointer h);
  }

  private static NbdExport open(Optional<String> context, String what, Connect connect) throws IOException {
    Libnbd nbd;
    try {
      nbd = Libnbd.load();
    } catch (LinkageError e) { // UnsatisfiedLinkError the first time, NoClassDefFoundError after
      throw new IOException(what + ": libnbd is not installed (Debian package libnbd0): " + e.getMessage(), e);
    }
    Pointer h = nbd.nbd_create();
    if (h == null) {
      throw new IOException(what + ": " + nbd.nbd_get_error());
    }
    NbdExport e = new NbdExport(nbd, h, what, context);
    try {
      if (context.isPresent()) {
        e.check(nbd.nbd_add_meta_context(h, context.get()));
      }
      e.check(connect.apply(nbd, h));
      if (context.isPresent() && nbd.nbd_can_meta_context(h, context.get()) != 1) {
        throw new IOException(what + ": the server does not offer " + context.get());
      }
      return e;
    } catch (NbdTimeout x) {
      e.close();
      throw new IOException(x.getMessage());
    } catch (IOException | RuntimeException x) {
      e.close();
      throw x;
    }
  }

  long size() throws IOException {
    usable();
    long n = nbd.nbd_get_size(h);
    if (n < 0) {
      throw error();
    }
    return n;
  }

  /**
   * The ranges {@code [start, end)} within {@code [offset, offset + length)} that the negotiated context flags with
   * {@code flag}, in order, adjacent ones merged.
   */
  List<long[]> flagged(long offset, long length, int flag) throws IOException {
    String name = context.orElseThrow(() -> new IllegalStateException("no metadata context negotiated"));
    usable();
    List<long[]> out = new ArrayList<>();
    long[] pos = {offset};
    long end = offset + length;
    Libnbd.ExtentCallback.ByValue cb = new Libnbd.ExtentCallback.ByValue();
    cb.callback = (user, ctx, start, entries, count, error) -> {
      if (!name.equals(ctx)) {
        return 0;
      }
      int[] e = entries.getIntArray(0, (int) count);
      long at = start;
      for (int i = 0; i + 1 < e.length; i += 2) {
        long len = Integer.toUnsignedLong(e[i]);
        if ((e[i + 1] & flag) != 0 && len > 0) {
          long s = at;
          long t = Math.min(at + len, end);
          if (!out.isEmpty() && out.get(out.size() - 1)[1] == s) {
            out.get(out.size() - 1)[1] = t;
          } else if (s < t) {
            out.add(new long[] {s, t});
          }
        }
        at += len;
      }
      pos[0] = Math.max(pos[0], at);
      return 0;
    };
    while (pos[0] < end) {
      long before = pos[0];
      check(nbd.nbd_block_status(h, Math.min(STATUS_SPAN, end - before), before, cb, 0));
      if (pos[0] <= before) {
        throw new IOException(what + ": block status at " + before + " described nothing");
      }
    }
    return out;
  }

  /** Fills the direct buffer's remaining bytes from the export at {@code offset}. */
  void read(ByteBuffer direct, long offset) throws IOException {
    usable();
    Pointer p = Native.getDirectBufferPointer(direct).share(direct.position());
    Optional<Duration> limit = timeout;
    if (limit.isEmpty()) {
      check(nbd.nbd_pread(h, p, direct.remaining(), offset, 0));
    } else {
      readWithin(p, direct.remaining(), offset, limit.get());
    }
    direct.position(direct.limit());
  }

  /** Writes the direct buffer's remaining bytes to a writable local export at {@code offset}. */
  void write(ByteBuffer direct, long offset) throws IOException {
    if (timeout.isPresent()) {
      throw new IllegalStateException("writes go to a local export only");
    }
    Pointer p = Native.getDirectBufferPointer(direct).share(direct.position());
    check(nbd.nbd_pwrite(h, p, direct.remaining(), offset, 0));
    direct.position(direct.limit());
  }

  /** Has the server make every write so far durable. */
  void flush() throws IOException {
    check(nbd.nbd_flush(h, 0));
  }

  /**
   * A read through {@code nbd_aio_pread}, polled until it completes or the deadline passes. After a timeout the
   * command stays in flight on a handle that is good only for closing (the caller's try-with-resources does), so
   * the buffer is never written after this returns.
   */
  private void readWithin(Pointer buf, long count, long offset, Duration limit) throws IOException {
    long cookie = nbd.nbd_aio_pread(h, buf, count, offset, new Libnbd.Completion.ByValue(), 0);
    if (cookie < 0) {
      throw error();
    }
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      int done = nbd.nbd_aio_command_completed(h, cookie);
      if (done == 1) {
        return;
      }
      if (done < 0) {
        throw error();
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        String why = "no answer from the NBD server within " + seconds(limit) + " (a read of " + count
            + " bytes at offset " + offset + "): the host or the link to it is gone";
        broken = Optional.of(why);
        throw new IOException(what + ": " + why);
      }
      if (nbd.nbd_poll(h, (int) Math.min(1000, Math.max(1, left / 1_000_000))) < 0) {
        IOException e = error();
        broken = Optional.of(e.getMessage());
        throw e;
      }
    }
  }

  /** Fails at once when an earlier call left the connection in an unknown state. */
  private void usable() throws IOException {
    Optional<String> why = broken;
    if (why.isPresent()) {
      throw new IOException(what + ": the NBD connection is broken, an earlier read failed (" + why.get()
          + "); open the export again");
    }
  }

  private void check(int rc) throws IOException {
    if (rc < 0) {
      throw error();
    }
  }

  private IOException error() {
    return new IOException(what + ": " + nbd.nbd_get_error());
  }

  @Override
  public void close() {
    nbd.nbd_close(h);
  }
}
