package io.lencap.core;

import com.google.common.util.concurrent.RateLimiter;
import io.lencap.api.InvalidSpecException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLock;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * A store's bandwidth and request limits, so that captures, restores and syncs do not starve the job they
 * protect: store options {@code limit.bytesPerSecond} (object bytes written and read, averaged by Guava's
 * {@link RateLimiter}, which lets at most one second's worth through at once) and {@code limit.requests}
 * (requests in flight; the store also keeps no more chunk transfers in flight than that).
 */
final class LimitedBackend implements BlobBackend {
  static final String BYTES_PER_SECOND = "limit.bytesPerSecond";
  static final String REQUESTS = "limit.requests";

  private final BlobBackend delegate;
  private final RateLimiter bytes;
  private final Semaphore requests;
  private final int concurrency;

  private LimitedBackend(BlobBackend delegate, RateLimiter bytes, Semaphore requests, int concurrency) {
    this.delegate = delegate;
    this.bytes = bytes;
    this.requests = requests;
    this.concurrency = concurrency;
  }

  /** The backend with the limits the options set, or itself when they set none. */
  static BlobBackend wrap(BlobBackend backend, Map<String, String> options) throws IOException {
    long rate;
    long inFlight;
    try {
      rate = positive(options, BYTES_PER_SECOND, Long.MAX_VALUE);
      inFlight = positive(options, REQUESTS, Integer.MAX_VALUE);
    } catch (InvalidSpecException e) {
      backend.close();
      throw e;
    }
    if (rate == Long.MAX_VALUE && inFlight == Integer.MAX_VALUE) {
      return backend;
    }
    return new LimitedBackend(backend, rate == Long.MAX_VALUE ? null : RateLimiter.create(rate),
        inFlight == Integer.MAX_VALUE ? null : new Semaphore((int) inFlight, true),
        (int) Math.min(backend.concurrency(), inFlight));
  }

  private static long positive(Map<String, String> options, String key, long otherwise) {
    String value = options.get(key);
    if (value == null) {
      return otherwise;
    }
    try {
      long n = Long.parseLong(value.trim());
      if (n < 1 || (key.equals(REQUESTS) && n > 4096)) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("storeOptions." + key, "must be a whole number from 1"
          + (key.equals(REQUESTS) ? " to 4096" : "") + ", was '" + value + "'");
    }
  }

  private interface Call<T> {
    T run() throws IOException;
  }

  private <T> T limited(long size, Call<T> call) throws IOException {
    if (bytes != null && size > 0) {
      bytes.acquire((int) Math.min(Integer.MAX_VALUE, size));
    }
    if (requests == null) {
      return call.run();
    }
    try {
      requests.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a request slot of " + describe());
    }
    try {
      return call.run();
    } finally {
      requests.release();
    }
  }

  /** A read's bytes are known only when it returns: they are paid for after, delaying the next call. */
  private Optional<byte[]> paid(Optional<byte[]> read) {
    if (bytes != null && read.isPresent() && read.get().length > 0) {
      bytes.acquire(read.get().length);
    }
    return read;
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void put(String key, byte[] data) throws IOException {
    limited(data.length, () -> {
      delegate.put(key, data);
      return null;
    });
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws IOException {
    return limited(data.length, () -> delegate.putIfAbsent(key, data));
  }

  @Override
  public Optional<byte[]> get(String key) throws IOException {
    return paid(limited(0, () -> delegate.get(key)));
  }

  @Override
  public Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
    return paid(limited(0, () -> delegate.getRange(key, offset, length)));
  }

  @Override
  public boolean exists(String key) throws IOException {
    return limited(0, () -> delegate.exists(key));
  }

  @Override
  public List<BlobInfo> list(String prefix) throws IOException {
    return limited(0, () -> delegate.list(prefix));
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws IOException {
    return limited(0, () -> delegate.stat(key));
  }

  @Override
  public void delete(String key) throws IOException {
    limited(0, () -> {
      delegate.delete(key);
      return null;
    });
  }

  /** The delegate's lock, its requests counted against the same limit. */
  @Override
  public Optional<ObjectLock> objectLock() {
    return delegate.objectLock().map(lock -> new ObjectLock() {
      @Override
      public void retain(Collection<String> keys) throws IOException {
        limited(0, () -> {
          lock.retain(keys);
          return null;
        });
      }

      @Override
      public String describe() {
        return lock.describe();
      }
    });
  }

  @Override
  public int concurrency() {
    return concurrency;
  }

  @Override
  public int packBelow() {
    return delegate.packBelow();
  }

  @Override
  public int packSize() {
    return delegate.packSize();
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }
}
