package io.lencap.iscsi;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A socket's output with a deadline on every write and flush. Java sockets time out reads only: a peer that stops
 * reading would hold the writing thread for good. When a write outlasts its deadline the socket is closed, which
 * ends the blocked write, and the write fails with a {@link SocketTimeoutException}.
 */
final class DeadlineOutputStream extends OutputStream {

  /** One daemon thread for all sessions: it only closes sockets, never blocks. */
  private static final ScheduledThreadPoolExecutor TIMER = timer();

  private final Socket socket;
  private final OutputStream out;
  private volatile long timeoutNanos;
  private volatile boolean expired;

  DeadlineOutputStream(Socket socket, Duration timeout) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    timeout(timeout);
  }

  private static ScheduledThreadPoolExecutor timer() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "lencap-iscsi-write-deadline");
      t.setDaemon(true);
      return t;
    });
    timer.setRemoveOnCancelPolicy(true); // one task per write: cancelled ones must not pile up
    return timer;
  }

  /** The limit for each following write or flush. */
  void timeout(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    guarded(() -> out.write(b, off, len));
  }

  @Override
  public void flush() throws IOException {
    guarded(out::flush);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  @FunctionalInterface
  private interface IoCall {
    void run() throws IOException;
  }

  private void guarded(IoCall call) throws IOException {
    if (expired) {
      throw stalled();
    }
    ScheduledFuture<?> deadline = TIMER.schedule(this::expire, timeoutNanos, TimeUnit.NANOSECONDS);
    try {
      call.run();
    } catch (IOException e) {
      if (expired) {
        SocketTimeoutException timeout = stalled();
        timeout.initCause(e);
        throw timeout;
      }
      throw e;
    } finally {
      deadline.cancel(false);
    }
  }

  private SocketTimeoutException stalled() {
    return new SocketTimeoutException("the peer took no data for "
      + Duration.ofNanos(timeoutNanos).toMillis() / 1000.0 + " s");
  }

  private void expire() {
    expired = true;
    try {
      socket.close();
    } catch (IOException ignored) {
      // the blocked write fails either way
    }
  }
}
