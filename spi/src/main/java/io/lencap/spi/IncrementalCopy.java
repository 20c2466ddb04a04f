package io.lencap.spi;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.StorageSnapshot.Extent;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Writes an entry of fixed blocks from the parent's copy of it and the ranges that changed since: how a driver that
 * knows what changed (a dirty bitmap, a storage's snapshot diff) reads only that. A block no range touches is the
 * parent's chunk, reused unread; a block changed whole is read whole; a block changed in part is the parent's chunk,
 * read from the store and verified, with the changed ranges read over it. A scattered 4 KiB write so costs a 4 KiB
 * read, not a block's. A parent's chunk that fails verification is never patched: its block is read whole from the
 * source instead, and {@link #unverified} counts it.
 *
 * <p>A driver either lets the copy read through its source ({@link #readFromSource}), or reads {@link #reads()}
 * itself in order, in pieces of any size (several in flight, say), handing each to {@link #accept}, then calls
 * {@link #finish}. It closes the entry itself. One thread at a time.
 */
public final class IncrementalCopy implements Closeable {
  /** Where the resource's bytes are read: the changed ranges, and a block whose parent's chunk cannot be patched. */
  @FunctionalInterface
  public interface Source {
    /** Fills {@code dst}'s remaining bytes (of a heap buffer) from byte {@code offset} of the resource. */
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  private final EntryWriter out;
  private final List<ChunkRef> parent;
  private final long size;
  private final int block;
  private final Source source;
  private final List<Extent> reads;
  private final BitSet patched = new BitSet();
  private final Bases bases;
  private final ByteBuffer buf;
  private int current = -1; // the block being assembled
  private boolean readWhole; // the current block was read whole: its parent's chunk failed verification
  private int next; // the first block not yet appended
  private int range; // the read the next piece continues
  private long expected; // the byte the next piece starts at
  private long read;

  /**
   * @param out the new entry, empty, written with fixed chunks of {@code block} bytes
   * @param parentState the parent checkpoint's state, which verifies each chunk it reads
   * @param parentEntry the parent's copy, of the new entry's size, in whole blocks ({@link #inWholeBlocks})
   * @param changed where the content may differ from the parent's copy: ascending, apart, within its size
   * @param source reads the resource, for the blocks whose parent chunk fails verification
   */
  public IncrementalCopy(EntryWriter out, StoredState parentState, StoredEntry parentEntry, int block,
      List<Extent> changed, Source source) {
    if (!inWholeBlocks(parentEntry, block)) {
      throw new IllegalArgumentException(parentEntry.path() + " is not stored in whole blocks of " + block + " bytes");
    }
    this.out = out;
    this.parent = parentEntry.chunks();
    this.size = parentEntry.size();
    this.block = block;
    this.source = source;
    this.reads = List.copyOf(merged(changed, size));
    List<ChunkRef> bases = new ArrayList<>();
    int b = -1;
    long covered = 0;
    for (Extent e : reads) {
      for (long at = e.offset(); at < e.end(); ) {
        int in = (int) (at / block);
        long end = Math.min(e.end(), Math.min(size, (long) (in + 1) * block));
        if (in != b) {
          partly(b, covered, bases);
          b = in;
          covered = 0;
        }
        covered += end - at;
        at = end;
      }
    }
    partly(b, covered, bases);
    this.bases = new Bases(parentState, parentEntry.path(), bases);
    this.buf = ByteBuffer.allocate(block);
    this.expected = reads.isEmpty() ? size : reads.get(0).offset();
  }

  private void partly(int b, long covered, List<ChunkRef> bases) {
    if (b >= 0 && covered < length(b)) {
      patched.set(b);
      bases.add(parent.get(b));
    }
  }

  /** Whether a stored copy is in whole blocks at fixed offsets, as a copy from changed ranges needs its parent's. */
  public static boolean inWholeBlocks(StoredEntry e, int block) {
    List<ChunkRef> chunks = e.chunks();
    if (chunks.size() != (e.size() + block - 1) / block) {
      return false;
    }
    for (int i = 0; i < chunks.size(); i++) {
      ChunkRef c = chunks.get(i);
      if (c.offset() != (long) i * block || c.length() != Math.min(block, e.size() - (long) i * block)) {
        return false;
      }
    }
    return true;
  }

  private static List<Extent> merged(List<Extent> changed, long size) {
    List<Extent> out = new ArrayList<>();
    long last = 0;
    for (Extent e : changed) {
      if (e.offset() < last || e.end() > size) {
        throw new IllegalArgumentException("changed ranges must be ascending, apart and within " + size
            + " bytes: " + e + " after " + last);
      }
      last = e.end();
      Extent prior = out.isEmpty() ? null : out.get(out.size() - 1);
      if (prior != null && prior.end() == e.offset()) {
        out.set(out.size() - 1, new Extent(prior.offset(), e.end() - prior.offset()));
      } else {
        out.add(e);
      }
    }
    return out;
  }

  /** The ranges to read from the resource, in order: the changed ranges, adjacent ones joined. */
  public List<Extent> reads() {
    return reads;
  }

  /** Reads the ranges from the source, a block's part at a time, and {@linkplain #finish finishes}. */
  public void readFromSource() throws IOException {
    for (; range < reads.size(); range++) {
      Extent e = reads.get(range);
      for (long at = e.offset(); at < e.end(); ) {
        int b = (int) (at / block);
        int n = (int) (Math.min(e.end(), (long) b * block + length(b)) - at);
        enter(b);
        if (!readWhole) { // else the block is read already
          int in = (int) (at - (long) b * block);
          source.read(at, buf.limit(in + n).position(in));
          read += n;
        }
        at += n;
      }
    }
    finish();
  }

  /**
   * Takes the next bytes read: {@code data}'s remaining bytes, from byte {@code offset}, where the last piece ended.
   */
  public void accept(long offset, ByteBuffer data) throws IOException {
    if (offset != expected || range >= reads.size() || data.remaining() > reads.get(range).end() - offset) {
      throw new IllegalStateException("pieces must follow reads() in order: got " + data.remaining() + " bytes at "
          + offset + ", expected the bytes from " + expected);
    }
    while (data.hasRemaining()) {
      int b = (int) (offset / block);
      enter(b);
      int at = (int) (offset - (long) b * block);
      int n = (int) Math.min(data.remaining(), length(b) - at);
      if (!readWhole) {
        buf.put(at, data, data.position(), n);
      }
      data.position(data.position() + n);
      offset += n;
      read += n;
    }
    expected = offset;
    if (expected == reads.get(range).end() && ++range < reads.size()) {
      expected = reads.get(range).offset();
    }
  }

  /** Appends the blocks after the last piece (the parent's chunks); every read must have been accepted. */
  public void finish() throws IOException {
    if (range < reads.size()) {
      throw new IllegalStateException("the bytes from " + expected + " were not read");
    }
    enter(parent.size());
  }

  /** Completes blocks before {@code b} and starts block {@code b}: its parent's chunk, when it is changed in part. */
  private void enter(int b) throws IOException {
    if (b == current) {
      return;
    }
    if (current >= 0) {
      out.write(buf.clear().limit(length(current)));
    }
    for (; next < b; next++) {
      out.reuse(parent.get(next));
    }
    if (b >= parent.size()) {
      return;
    }
    current = b;
    next = b + 1;
    readWhole = false;
    if (patched.get(b) && !bases.next(buf.clear())) {
      source.read((long) b * block, buf.clear().limit(length(b)));
      read += length(b);
      readWhole = true;
    }
  }

  private int length(int b) {
    return (int) Math.min(block, size - (long) b * block);
  }

  /**
   * Bytes read from the resource so far: the changed ranges and the blocks read whole in place of a parent's chunk
   * (pieces {@linkplain #accept accepted} for such a block count too: they were read).
   */
  public long read() {
    return read;
  }

  /** The parent's chunks that failed verification, whose blocks were read whole. */
  public int unverified() {
    return bases.unverified;
  }

  @Override
  public void close() throws IOException {
    bases.close();
  }

  /**
   * The parent's chunks of the blocks changed in part, in order, streamed with the store's read-ahead and each
   * verified by it. A chunk that fails verification is skipped and the stream opened again after it.
   */
  private static final class Bases implements Closeable {
    private final StoredState parent;
    private final String entry;
    private final List<ChunkRef> chunks;
    private int next;
    private @Nullable InputStream in;
    int unverified;

    Bases(StoredState parent, String entry, List<ChunkRef> chunks) {
      this.parent = parent;
      this.entry = entry;
      this.chunks = chunks;
    }

    /** Fills {@code dst} with the next chunk's content; false when the store could not verify it. */
    boolean next(ByteBuffer dst) throws IOException {
      ChunkRef c = chunks.get(next++);
      try {
        InputStream in = this.in;
        if (in == null) { // a store may verify the first chunk as it opens
          List<ChunkRef> rest = chunks.subList(next - 1, chunks.size());
          in = parent.open(new StoredEntry(entry, EntryKind.FILE, rest.stream().mapToLong(ChunkRef::length).sum(),
              Map.of(), rest));
          this.in = in;
        }
        if (in.readNBytes(dst.array(), dst.arrayOffset(), c.length()) != c.length()) {
          throw new IOException("the parent's copy of " + entry + " ended before chunk " + c.id());
        }
        return true;
      } catch (CorruptCheckpointException e) {
        close();
        unverified++;
        return false;
      }
    }

    @Override
    public void close() throws IOException {
      InputStream in = this.in;
      if (in != null) {
        this.in = null;
        in.close();
      }
    }
  }
}
