package io.lencap.s3;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * S3 that counts the object bytes written and read through it ({@code s3counted://bucket/prefix}), and when
 * the first call started and the last ended ({@link System#nanoTime}): the engine's store limits wrap the
 * backend a provider opens, so this sees exactly what the limits let through.
 */
public final class CountingS3BackendProvider extends S3UnderTestScheme {
  static final String SCHEME = "s3counted";
  static final AtomicLong bytes = new AtomicLong();
  static final AtomicLong firstStart = new AtomicLong(Long.MAX_VALUE);
  static final AtomicLong lastEnd = new AtomicLong(Long.MIN_VALUE);

  static void reset() {
    bytes.set(0);
    firstStart.set(Long.MAX_VALUE);
    lastEnd.set(Long.MIN_VALUE);
  }

  public CountingS3BackendProvider() {
    super(SCHEME);
  }

  @Override
  BlobBackend wrap(BlobBackend s3) {
    return new ForwardingBackend(s3) {
      @Override
      public void put(String key, byte[] data) throws IOException {
        long start = System.nanoTime();
        super.put(key, data);
        count(start, data.length);
      }

      @Override
      public boolean putIfAbsent(String key, byte[] data) throws IOException {
        long start = System.nanoTime();
        boolean written = super.putIfAbsent(key, data);
        count(start, data.length);
        return written;
      }

      @Override
      public Optional<byte[]> get(String key) throws IOException {
        long start = System.nanoTime();
        Optional<byte[]> read = super.get(key);
        count(start, read.map(b -> b.length).orElse(0));
        return read;
      }

      @Override
      public Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
        long start = System.nanoTime();
        Optional<byte[]> read = super.getRange(key, offset, length);
        count(start, read.map(b -> b.length).orElse(0));
        return read;
      }
    };
  }

  private static void count(long start, long n) {
    if (n == 0) {
      return;
    }
    bytes.addAndGet(n);
    firstStart.accumulateAndGet(start, Math::min);
    lastEnd.accumulateAndGet(System.nanoTime(), Math::max);
  }
}
