package io.lencap.libvirt;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A file read with its holes taken as zeros, not read. Where the data lies comes from the file system ({@code lseek}
 * with {@code SEEK_DATA} and {@code SEEK_HOLE}). Reading a hole is not free: the kernel fills page-cache pages with
 * zeros and copies them out, for every byte of a sparse raw image that the guest never wrote (a 16 GiB disk holding
 * 512 MiB took 5 to 10 s per capture, BENCHMARKS.md). A file system that cannot tell reports the whole file as data.
 */
final class FileHoles implements ReadableByteChannel {
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int ENXIO = 6;
  private static final int O_CLOEXEC = 0x80000;
  private static final ByteBuffer ZEROS = ByteBuffer.allocate(64 << 10).asReadOnlyBuffer();

  private interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int open(String path, int flags) throws LastErrorException;

    long lseek(int fd, long offset, int whence) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private final FileChannel in;
  private final List<long[]> data;
  private final long size;
  private int range;
  private long position;
  private long holes;

  private FileHoles(FileChannel in, List<long[]> data, long size) {
    this.in = in;
    this.data = data;
    this.size = size;
  }

  /** {@code in}, the open channel of {@code file}, read from its start to its current size. */
  static FileHoles read(Path file, FileChannel in) throws IOException {
    long size = in.size();
    return new FileHoles(in, data(file, size), size);
  }

  /** The ranges of the file's first {@code size} bytes that hold data, in order: all of it when unknown. */
  static List<long[]> data(Path file, long size) {
    List<long[]> ranges = new ArrayList<>();
    int fd;
    try {
      fd = LibC.INSTANCE.open(file.toString(), O_CLOEXEC); // O_RDONLY
    } catch (LastErrorException | UnsatisfiedLinkError e) {
      return List.of(new long[] {0, size});
    }
    try {
      for (long at = 0; at < size; ) {
        long start;
        try {
          start = LibC.INSTANCE.lseek(fd, at, SEEK_DATA);
        } catch (LastErrorException e) {
          if (e.getErrorCode() == ENXIO) {
            break; // a hole up to the end
          }
          return List.of(new long[] {0, size});
        }
        if (start >= size) {
          break;
        }
        long end = Math.min(size, LibC.INSTANCE.lseek(fd, start, SEEK_HOLE));
        if (end <= start) { // not what lseek promises: take the rest as data rather than loop
          end = size;
        }
        ranges.add(new long[] {start, end});
        at = end;
      }
    } catch (LastErrorException e) {
      return List.of(new long[] {0, size});
    } finally {
      try {
        LibC.INSTANCE.close(fd);
      } catch (LastErrorException ignored) {
        // read-only: nothing was written that a failed close could lose
      }
    }
    return ranges;
  }

  /** The bytes taken as zeros so far, unread. */
  long holes() {
    return holes;
  }

  /** Steps over the hole where the file is read, if it is in one: returns its length, 0 in data or at the end. */
  long skipHole() {
    long n = Math.max(0, nextData() - position);
    position += n;
    holes += n;
    return n;
  }

  /** Where the data at or after the position starts: the file's size when only a hole is left. */
  private long nextData() {
    while (range < data.size() && data.get(range)[1] <= position) {
      range++;
    }
    return range < data.size() ? Math.max(position, data.get(range)[0]) : size;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    if (position >= size) {
      return -1;
    }
    long start = nextData();
    if (position < start) { // in a hole
      int n = (int) Math.min(Math.min(dst.remaining(), ZEROS.capacity()), start - position);
      dst.put(ZEROS.duplicate().limit(n));
      position += n;
      holes += n;
      return n;
    }
    long end = data.get(range)[1];
    ByteBuffer part = dst.duplicate().limit(dst.position() + (int) Math.min(dst.remaining(), end - position));
    int n = in.read(part, position);
    if (n < 0) {
      return -1; // the file shrank under us: what was read ends here, as a plain read would
    }
    dst.position(part.position());
    position += n;
    return n;
  }

  @Override
  public boolean isOpen() {
    return in.isOpen();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
