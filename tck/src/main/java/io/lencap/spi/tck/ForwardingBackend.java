package io.lencap.spi.tck;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLock;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * A backend that forwards every call: override a call to pause, count or fail it at the right step
 * (deterministic interleavings of a commit and a collection, lost writes).
 */
public class ForwardingBackend implements BlobBackend {
  private final BlobBackend delegate;

  public ForwardingBackend(BlobBackend delegate) {
    this.delegate = delegate;
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void put(String key, byte[] data) throws IOException {
    delegate.put(key, data);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws IOException {
    return delegate.putIfAbsent(key, data);
  }

  @Override
  public Optional<byte[]> get(String key) throws IOException {
    return delegate.get(key);
  }

  @Override
  public Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
    return delegate.getRange(key, offset, length);
  }

  @Override
  public boolean exists(String key) throws IOException {
    return delegate.exists(key);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws IOException {
    return delegate.list(prefix);
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws IOException {
    return delegate.stat(key);
  }

  @Override
  public void delete(String key) throws IOException {
    delegate.delete(key);
  }

  @Override
  public Optional<ObjectLock> objectLock() {
    return delegate.objectLock();
  }

  @Override
  public int concurrency() {
    return delegate.concurrency();
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
