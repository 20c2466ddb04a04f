package io.lencap.spi;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * Writes one entry's content; the store chunks, hashes, compresses and dedups it. One thread at a
 * time. {@link #close()} completes the entry; an entry not closed is not part of the checkpoint.
 */
public interface EntryWriter extends Closeable {
  /** Appends the buffer's remaining bytes. */
  void write(ByteBuffer data) throws IOException;

  default void write(byte[] data, int offset, int length) throws IOException {
    write(ByteBuffer.wrap(data, offset, length));
  }

  /**
   * Appends {@code length} zero bytes, as a hole of a sparse file reads: the store may name whole zero chunks without
   * copying, hashing or storing their bytes again. By default, writes them.
   */
  default void zeros(long length) throws IOException {
    byte[] zeros = new byte[(int) Math.min(length, 1 << 20)];
    for (long left = length; left > 0; ) {
      int n = (int) Math.min(left, zeros.length);
      write(zeros, 0, n);
      left -= n;
    }
  }

  /**
   * Appends a chunk already in the store (from the parent state) without its bytes: how a driver that
   * tracks changes skips unchanged blocks. Allowed only at a chunk boundary.
   */
  void reuse(ChunkRef chunk) throws IOException;

  /** Content bytes appended so far. */
  long size();

  /** This writer as a stream, for libraries that want one; closing the stream closes the entry. */
  OutputStream asStream();

  @Override
  void close() throws IOException;
}
