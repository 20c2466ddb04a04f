package io.lencap.localdir;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a local file's data lies ({@code lseek} with {@code SEEK_DATA}), so that a capture takes the holes of a
 * sparse file as zeros instead of reading them. Reading a hole is not free: the kernel fills page-cache pages with
 * zeros, and a first read of 8 GiB of holes took about 10 s here (BENCHMARKS.md).
 *
 * <p>The file is opened as {@link LocalFiles} opens files, never through a symlink and never outside the tree:
 * {@code openat2(2)} from the root with {@code RESOLVE_BENEATH} and {@code RESOLVE_NO_SYMLINKS}, non-blocking, so that
 * a FIFO swapped in cannot hang it. It only tells where to read: the bytes are read through {@link LocalFiles}.
 * Where the kernel, the C library or the file system cannot tell, the answer is "data here", which only costs reads.
 */
final class LocalHoles {
  private static final int SEEK_DATA = 3;
  private static final int O_CLOEXEC = 0x80000;
  private static final int ENXIO = 6;
  private static final long SYS_OPENAT2 = 437; // the same number on every architecture
  private static final long OPEN_FLAGS = 0x800 | 0x100 | O_CLOEXEC; // O_RDONLY | O_NONBLOCK | O_NOCTTY
  private static final long RESOLVE = 0x08 | 0x04 | 0x02; // BENEATH, NO_SYMLINKS, NO_MAGICLINKS

  private static final Optional<LibC> LIBC = load();

  private interface LibC extends Library {
    long syscall(long number, Object... args) throws LastErrorException;

    int open(String path, int flags) throws LastErrorException;

    long lseek(int fd, long offset, int whence) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private LocalHoles() {}

  private static Optional<LibC> load() {
    try {
      return Optional.of(Native.load("c", LibC.class));
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      return Optional.empty(); // no native part of JNA for this platform: every file counts as data
    }
  }

  /**
   * Where data starts at or after {@code offset} in the regular file {@code relative} below {@code root} (a handle of
   * {@link LocalFiles}): {@code offset} when it is data or when that cannot be told (a handle whose stored form is not
   * the name on disk included), {@code size} when only a hole is left before it.
   */
  static long dataFrom(Path root, String relative, long offset, long size) {
    if (LIBC.isEmpty() || offset >= size) {
      return offset;
    }
    LibC c = LIBC.get();
    int dir = -1;
    int fd = -1;
    try {
      dir = c.open(root.toAbsolutePath().toString(), O_CLOEXEC); // O_RDONLY: the tree's root, as configured
      fd = openat2(c, dir, relative);
      long data = c.lseek(fd, offset, SEEK_DATA);
      return Math.max(offset, Math.min(data, size));
    } catch (LastErrorException e) {
      return e.getErrorCode() == ENXIO && fd >= 0 ? size : offset; // ENXIO from lseek: a hole to the end
    } finally {
      close(c, fd);
      close(c, dir);
    }
  }

  private static int openat2(LibC c, int dir, String path) {
    Memory how = new Memory(24); // struct open_how: flags, mode, resolve
    how.setLong(0, OPEN_FLAGS);
    how.setLong(8, 0);
    how.setLong(16, RESOLVE);
    return (int) c.syscall(SYS_OPENAT2, dir, path, how, 24L);
  }

  private static void close(LibC c, int fd) {
    if (fd >= 0) {
      try {
        c.close(fd);
      } catch (LastErrorException ignored) {
        // opened read-only: nothing written that a failed close could lose
      }
    }
  }
}
