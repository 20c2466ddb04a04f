package io.lencap.s3;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * S3 for a process a test kills mid-write ({@code s3held://bucket/prefix}): after the number of chunk or pack writes
 * the system property {@code lencap.test.holdAfter} says, it prints {@code @mid} and holds every further
 * write until the process is killed, so that the kill lands at a known point, not after a guessed delay.
 * A test in this JVM can instead hold chunk writes on a latch ({@link #gate}).
 */
public final class HeldS3BackendProvider extends S3UnderTestScheme {
  static final String SCHEME = "s3held";
  /** When set, each chunk or pack write waits for it to be counted down; {@link #gated} counts down at the first. */
  static volatile CountDownLatch gate;
  static volatile CountDownLatch gated = new CountDownLatch(1);

  public HeldS3BackendProvider() {
    super(SCHEME);
  }

  @Override
  BlobBackend wrap(BlobBackend s3) {
    int after = Integer.getInteger("lencap.test.holdAfter", Integer.MAX_VALUE);
    AtomicInteger written = new AtomicInteger();
    CountDownLatch never = new CountDownLatch(1);
    return new ForwardingBackend(s3) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws IOException {
        if (key.startsWith("chunks/") || key.startsWith("packs/")) { // chunks, alone or packed
          CountDownLatch g = gate;
          if (g != null) {
            gated.countDown();
            try {
              g.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new java.io.InterruptedIOException("held");
            }
          }
          int n = written.incrementAndGet();
          if (n == after + 1) {
            System.out.println("@mid");
            System.out.flush();
          }
          if (n > after) {
            try {
              never.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new java.io.InterruptedIOException("held");
            }
          }
        }
        return super.putIfAbsent(key, data);
      }
    };
  }
}
