package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import io.lencap.spi.tck.ForwardingBackend;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A store for tests that copy to it (a sync's target, a durable tier): a local directory behind {@code test:} URIs,
 * whose chunk and pack writes the test can fail ({@link #allowed}) or hold ({@link #hold}), and which can stop answering
 * whether it has an object ({@link #down}).
 */
final class GatedBackendProvider implements BlobBackendProvider {
  /** Chunk writes allowed before each fails. */
  final AtomicInteger allowed = new AtomicInteger(Integer.MAX_VALUE);
  /** Holds the first chunk write until counted down, once set; {@link #held} says a write is held. */
  volatile CountDownLatch hold;
  final CountDownLatch held = new CountDownLatch(1);
  /** When set, the store cannot be asked whether it has an object. */
  volatile boolean down;
  /** When not negative, the backend's {@code packBelow}, as a remote store's would be. */
  volatile int packBelow = -1;
  /** When not negative, the backend's {@code packSize}. */
  volatile int packSize = -1;
  private final Path dir;
  private final String what;

  /** @param what the store as failures name it ("the target", "the durable store") */
  GatedBackendProvider(Path dir, String what) {
    this.dir = dir;
    this.what = what;
  }

  static void await(CountDownLatch l) {
    try {
      assertTrue(l.await(60, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public String name() {
    return "test";
  }

  @Override
  public boolean supports(URI store) {
    return "test".equals(store.getScheme());
  }

  @Override
  public BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets) throws IOException {
    return new ForwardingBackend(new LocalBackend(dir)) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws IOException {
        if (key.startsWith(ChunkStore.PREFIX) || key.startsWith(ChunkPacks.PREFIX)) {
          if (allowed.getAndDecrement() <= 0) {
            throw new IOException("injected: " + what + " went away");
          }
          CountDownLatch h = hold;
          if (h != null) {
            held.countDown();
            await(h);
          }
        }
        return super.putIfAbsent(key, data);
      }

      @Override
      public int packBelow() {
        return packBelow < 0 ? super.packBelow() : packBelow;
      }

      @Override
      public int packSize() {
        return packSize < 0 ? super.packSize() : packSize;
      }

      @Override
      public boolean exists(String key) throws IOException {
        if (down) {
          throw new IOException("injected: " + what + " is unreachable");
        }
        return super.exists(key);
      }
    };
  }
}
