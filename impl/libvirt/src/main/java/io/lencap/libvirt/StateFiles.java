package io.lencap.libvirt;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Moves whole files (memory images, disk images) into a capture's entries and back out of a stored state. */
final class StateFiles {
  private static final int BUFFER = 1 << 20;
  private static final byte[] ZEROS = new byte[64 << 10];

  private StateFiles() {}

  /** What a file's capture wrote: its bytes, and of them the holes taken as zeros without a read. */
  record Captured(long bytes, long holes) {}

  /**
   * Writes a file as an entry, its holes as zeros without reading them ({@link FileHoles}). Its identity (size,
   * times, inode) goes into the attributes, so that the next capture can reuse the parent's entry without reading a
   * file that did not change. {@code check} runs between buffers and throws to stop the copy.
   */
  static Captured capture(Path file, String entry, Map<String, String> attributes, Chunking chunking,
      CaptureContext ctx, Runnable check) throws IOException {
    return capture(file, null, entry, attributes, chunking, ctx, check);
  }

  /**
   * The same, with the file's first bytes replaced by {@code head} in the entry (a save image whose XML was
   * rewritten for the store, while the file itself stays as libvirt needs it).
   */
  static Captured capture(Path file, ByteBuffer head, String entry, Map<String, String> attributes,
      Chunking chunking, CaptureContext ctx, Runnable check) throws IOException {
    Map<String, String> attrs = new TreeMap<>(attributes);
    attrs.put("identity", identity(file));
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        FileHoles in = FileHoles.read(file, channel)) {
      return new Captured(capture(in, head, entry, attrs, chunking, ctx, check), in.holes());
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "not readable from this host: run Lencap on the "
          + "hypervisor's host or keep images on storage shared with it");
    }
  }

  /**
   * Writes what a channel reads, up to its end, as an entry ({@code head}, if given, stands in for its first bytes);
   * returns the bytes written.
   */
  static long capture(ReadableByteChannel in, ByteBuffer head, String entry, Map<String, String> attributes,
      Chunking chunking, CaptureContext ctx, Runnable check) throws IOException {
    long n = 0;
    EntryWriter out = ctx.state().create(entry, EntryKind.FILE, attributes, chunking);
    boolean written = false;
    try {
      ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
      while (true) {
        ctx.checkCancelled();
        check.run();
        long hole = in instanceof FileHoles f && (head == null || n >= head.limit()) ? f.skipHole() : 0;
        if (hole > 0) {
          out.zeros(hole);
          n += hole;
          continue;
        }
        if (in.read(buf) < 0) {
          break;
        }
        buf.flip();
        if (head != null && n < head.limit()) {
          int len = (int) Math.min(buf.remaining(), head.limit() - n);
          buf.put(0, head, (int) n, len);
        }
        n += buf.remaining();
        out.write(buf);
        buf.clear();
      }
      written = true;
    } finally {
      if (written) {
        out.close();
      } else {
        closeAfterFailure(out);
      }
    }
    return n;
  }

  /** A channel that reads {@code head}'s remaining bytes, then what {@code rest} reads. */
  static ReadableByteChannel after(ByteBuffer head, ReadableByteChannel rest) {
    return new ReadableByteChannel() {
      @Override
      public int read(ByteBuffer dst) throws IOException {
        if (!head.hasRemaining()) {
          return rest.read(dst);
        }
        int n = Math.min(head.remaining(), dst.remaining());
        ByteBuffer slice = head.slice(head.position(), n);
        dst.put(slice);
        head.position(head.position() + n);
        return n;
      }

      @Override
      public boolean isOpen() {
        return rest.isOpen();
      }

      @Override
      public void close() throws IOException {
        rest.close();
      }
    };
  }

  /** Closes a writer whose entry failed; the first failure is the one to report (a store may rethrow it). */
  private static void closeAfterFailure(EntryWriter out) {
    try {
      out.close();
    } catch (IOException | RuntimeException ignored) {
      // the write already failed and is propagating
    }
  }

  /** Reuses the parent's entry when the file is provably the one the parent read; true if it did. */
  static boolean reuseUnchanged(Path file, String entry, Map<String, String> attributes, CaptureContext ctx)
      throws IOException {
    if (ctx.parent().isEmpty()) {
      return false;
    }
    StoredEntry previous = ctx.parent().get().entry(entry).orElse(null);
    if (previous == null) {
      return false;
    }
    Map<String, String> expected = new TreeMap<>(attributes);
    expected.put("identity", identity(file));
    if (!previous.attributes().equals(expected)) {
      return false;
    }
    ctx.state().reuse(previous);
    return true;
  }

  /**
   * Size, change time, modification time and inode: a file keeps them only if nothing wrote to it (the
   * change time cannot be set back by users).
   */
  static String identity(Path file) throws IOException {
    Map<String, Object> a = Files.readAttributes(file, "unix:size,ctime,lastModifiedTime,ino,dev");
    return a.get("size") + "/" + a.get("ctime") + "/" + a.get("lastModifiedTime") + "/" + a.get("dev") + ":"
        + a.get("ino");
  }

  /**
   * Writes an entry into a new file, each chunk verified by the store before its bytes are written. All-zero chunks
   * are left as holes (those the store knows by their id are not even read), so sparse images stay sparse. A durable
   * file is written with {@code O_DIRECT} where it can be ({@link DirectFile}) and made durable before this returns;
   * any other (a memory image that libvirt reads once, right after) through the page cache.
   */
  static void restore(StoredState state, StoredEntry entry, Path target, boolean durable, long[] done, long total,
      RestoreContext ctx) throws IOException {
    Files.deleteIfExists(target);
    boolean aligned = entry.chunks().stream().allMatch(c -> c.offset() % DirectFile.ALIGN == 0);
    try (DirectFile out = DirectFile.create(target, durable && aligned)) {
      read(state, entry, done, total, ctx, new ChunkSink() {
        @Override
        public void accept(long at, byte[] chunk, int length) throws IOException {
          if (!allZero(chunk, 0, length)) {
            out.write(chunk, 0, length, at);
          }
        }

        @Override
        public void zeros(long at, long length) {} // a hole: the file's length is set at its end
      });
      out.finish(entry.size(), durable);
    }
  }

  /** The same into a new qcow2 image (always durable), of which the entry is the guest's view. */
  static void restoreQcow2(StoredState state, StoredEntry entry, Path target, long[] done, long total,
      RestoreContext ctx) throws IOException {
    Files.deleteIfExists(target);
    try (Qcow2Writer image = Qcow2Writer.create(target, entry.size())) {
      read(state, entry, done, total, ctx, new ChunkSink() {
        @Override
        public void accept(long at, byte[] chunk, int length) throws IOException {
          image.write(at, chunk, length);
        }

        @Override
        public void zeros(long at, long length) throws IOException {
          image.zeros(at, length);
        }
      });
      image.finish();
    }
  }

  /** Where {@link #read} hands an entry's bytes, in order. */
  private interface ChunkSink {
    /** A chunk's offset, and its bytes at the start of a buffer reused for the next. */
    void accept(long at, byte[] chunk, int length) throws IOException;

    /** Zero bytes the store knows from the chunks' ids, not read: a hole to leave. */
    void zeros(long at, long length) throws IOException;
  }

  private static void read(StoredState state, StoredEntry entry, long[] done, long total, RestoreContext ctx,
      ChunkSink sink) throws IOException {
    List<ChunkRef> stored = entry.chunks().stream().filter(c -> !state.isZero(c)).toList();
    StoredEntry read = new StoredEntry(entry.path(), entry.kind(), entry.size(), entry.attributes(), stored);
    // the store reads and verifies several chunks ahead on its threads
    try (InputStream in = state.open(read)) {
      int largest = stored.stream().mapToInt(ChunkRef::length).max().orElse(0);
      byte[] chunk = new byte[largest];
      for (ChunkRef c : entry.chunks()) {
        ctx.checkCancelled();
        if (state.isZero(c)) {
          sink.zeros(c.offset(), c.length());
        } else {
          if (in.readNBytes(chunk, 0, c.length()) != c.length()) {
            throw new IOException(entry.path() + ": the stored entry ended before its chunk at " + c.offset());
          }
          sink.accept(c.offset(), chunk, c.length());
        }
        done[0] += c.length();
        ctx.progress(done[0], total);
      }
    }
  }

  /** Whether {@code length} bytes from {@code offset} are all zero (a vectorised compare, a block at a time). */
  static boolean allZero(byte[] data, int offset, int length) {
    for (int at = offset; at < offset + length; at += ZEROS.length) {
      int n = Math.min(ZEROS.length, offset + length - at);
      if (Arrays.mismatch(data, at, at + n, ZEROS, 0, n) >= 0) {
        return false;
      }
    }
    return true;
  }
}
