package io.lencap.libvirt;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * A new file that a restore writes in blocks of {@link #ALIGN} at their place: with {@code O_DIRECT} on a local disk
 * whose file system takes it, else through the page cache. Direct, the disk takes the bytes from the writer's
 * buffer: no copy into fresh page-cache pages (more than half of a restoring thread's time here) and no gigabytes
 * left to flush at the end, which the kernel would otherwise start writing back only once a tenth of the memory is
 * dirty (BENCHMARKS.md, "The restored image written once"). A direct file's writes go through a buffer aligned on
 * {@link #ALIGN}, as direct I/O needs, the last block padded with zeros that {@link #finish} cuts off.
 */
final class DirectFile implements Closeable {
  /** Where writes start and how they are padded: at least any file system's block size. */
  static final int ALIGN = 64 << 10;
  private static final int STAGING = 16 * ALIGN;
  private static final byte[] ZEROS = new byte[ALIGN];
  /**
   * The file systems written directly: local disks. Over NFS each direct write would wait for the server, one at a
   * time, where the page cache keeps many in flight.
   */
  private static final Set<String> LOCAL = Set.of("ext4", "ext3", "xfs", "btrfs", "f2fs");

  private final FileChannel out;
  private final boolean direct;
  private final ByteBuffer staging = aligned(STAGING);

  private DirectFile(FileChannel out, boolean direct) {
    this.out = out;
    this.direct = direct;
  }

  /** A new file at {@code path}, which must not exist; written directly if asked and on a local disk that takes it. */
  static DirectFile create(Path path, boolean direct) throws IOException {
    if (direct) {
      try {
        FileStore store = Files.getFileStore(path.toAbsolutePath().getParent());
        if (LOCAL.contains(store.type()) && store.getBlockSize() <= ALIGN) {
          return new DirectFile(FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
              ExtendedOpenOption.DIRECT), true);
        }
      } catch (FileAlreadyExistsException e) {
        throw e;
      } catch (IOException | UnsupportedOperationException e) {
        Files.deleteIfExists(path); // open(2) may have created the file before it refused O_DIRECT
      }
    }
    return new DirectFile(FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), false);
  }

  /** A direct buffer of {@code capacity} bytes (a multiple of {@link #ALIGN}) aligned on {@link #ALIGN}. */
  static ByteBuffer aligned(int capacity) {
    return ByteBuffer.allocateDirect(capacity + ALIGN).alignedSlice(ALIGN).limit(capacity).slice();
  }

  /** Whether the file goes to the disk without the page cache. */
  boolean direct() {
    return direct;
  }

  /** Writes {@code length} bytes at {@code position}, which a direct file needs on a multiple of {@link #ALIGN}. */
  void write(byte[] data, int offset, int length, long position) throws IOException {
    if (!direct) {
      ByteBuffer b = ByteBuffer.wrap(data, offset, length);
      while (b.hasRemaining()) {
        position += out.write(b, position);
      }
      return;
    }
    while (length > 0) {
      int n = Math.min(STAGING, length);
      int padded = (n + ALIGN - 1) / ALIGN * ALIGN;
      writeAligned(staging.clear().put(data, offset, n).put(ZEROS, 0, padded - n).flip(), position);
      offset += n;
      length -= n;
      position += n;
    }
  }

  /** Writes a buffer from {@link #aligned}, whole blocks of {@link #ALIGN}, at {@code position}, a multiple of it. */
  void writeAligned(ByteBuffer b, long position) throws IOException {
    if (direct && position % ALIGN != 0) {
      throw new IllegalArgumentException("a direct write at " + position + ", not on a block of " + ALIGN);
    }
    while (b.hasRemaining()) {
      position += out.write(b, position);
    }
  }

  /** Cuts the file to {@code size}, or extends one that ends in a hole, and makes it durable if asked. */
  void finish(long size, boolean durable) throws IOException {
    if (out.size() < size) {
      // A block of zeros over the last byte.
      writeAligned(staging.clear().put(ZEROS).flip(), (size - 1) / ALIGN * ALIGN);
    }
    out.truncate(size);
    if (durable) {
      out.force(true);
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
