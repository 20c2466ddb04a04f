package io.lencap.spi.tck;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-memory chunk store for the TCK: a {@link StateSink} to capture into and, once
 * {@link #seal()}ed, a {@link StoredState} to restore from. Chunks are shared between states made
 * from one {@link Chunks} pool, so a second capture's {@link #newBytes()} shows what dedup saved.
 */
public final class MemoryState implements StateSink {
  /** A pool of chunks by id, shared by the states of one test. */
  public static final class Chunks {
    final Map<String, byte[]> byId = new ConcurrentHashMap<>();
    private final Map<Integer, String> zeroIds = new ConcurrentHashMap<>();
    private final AtomicLong bytesRead = new AtomicLong();

    /** Bytes read (and verified) from this pool so far, by any state of it: what a restore fetched. */
    public long bytesRead() {
      return bytesRead.get();
    }

    /** Flips one byte of the stored chunk (fault injection). */
    public void corrupt(String chunkId) {
      byte[] b = byId.get(chunkId);
      if (b == null) {
        throw new IllegalArgumentException("no chunk " + chunkId + " in this pool");
      }
      b[b.length / 2] ^= 0x5a;
    }
  }

  private final Chunks chunks;
  private final String checkpointId;
  private final Map<String, StoredEntry> entries = Collections.synchronizedMap(new LinkedHashMap<>());
  private final Map<String, String> attributes = new ConcurrentHashMap<>();
  private long newBytes;

  public MemoryState(Chunks chunks, String checkpointId) {
    this.chunks = chunks;
    this.checkpointId = checkpointId;
  }

  /** Bytes of chunks this state added to the pool (what an incremental capture cost). */
  public synchronized long newBytes() {
    return newBytes;
  }

  public long logicalBytes() {
    synchronized (entries) {
      return entries.values().stream().mapToLong(StoredEntry::size).sum();
    }
  }

  @Override
  public EntryWriter create(String path, EntryKind kind, Map<String, String> attrs, Chunking chunking) {
    return new Writer(path, kind, attrs, chunking);
  }

  @Override
  public void reuse(StoredEntry entry) {
    entries.put(entry.path(), entry);
  }

  @Override
  public void remove(String path) {
    entries.remove(path);
  }

  @Override
  public void attribute(String key, String value) {
    attributes.put(key, value);
  }

  @Override
  public void expectBytes(long total) {}

  /** The state as written, to restore from. */
  public StoredState seal() {
    List<StoredEntry> list;
    synchronized (entries) {
      list = List.copyOf(entries.values());
    }
    Map<String, String> attrs = Map.copyOf(attributes);
    return new StoredState() {
      @Override
      public String checkpointId() {
        return checkpointId;
      }

      @Override
      public Map<String, String> attributes() {
        return attrs;
      }

      @Override
      public List<StoredEntry> entries() {
        return list;
      }

      @Override
      public Optional<StoredEntry> entry(String path) {
        return list.stream().filter(e -> e.path().equals(path)).findFirst();
      }

      @Override
      public ByteBuffer read(ChunkRef chunk) {
        byte[] b = chunks.byId.get(chunk.id());
        if (b == null) {
          throw new CorruptCheckpointException(checkpointId, "tck", chunk.id(), "missing");
        }
        if (!sha256(b, 0, b.length).equals(chunk.id())) {
          throw new CorruptCheckpointException(checkpointId, "tck", chunk.id(), "hash mismatch");
        }
        chunks.bytesRead.addAndGet(b.length);
        return ByteBuffer.wrap(b.clone()).asReadOnlyBuffer();
      }

      @Override
      public InputStream open(StoredEntry entry) {
        Iterator<ChunkRef> refs = entry.chunks().iterator();
        return new SequenceInputStream(new Enumeration<InputStream>() { // one chunk read at a time, when reached
          @Override
          public boolean hasMoreElements() {
            return refs.hasNext();
          }

          @Override
          public InputStream nextElement() {
            ByteBuffer b = read(refs.next());
            byte[] a = new byte[b.remaining()];
            b.get(a);
            return new ByteArrayInputStream(a);
          }
        });
      }

      /** As in a real store, a chunk of zeros is known by its id: a restore leaves it a hole without reading it. */
      @Override
      public boolean isZero(ChunkRef chunk) {
        return chunk.id().equals(chunks.zeroIds.computeIfAbsent(chunk.length(), n -> sha256(new byte[n], 0, n)));
      }

      @Override
      public boolean matches(ChunkRef chunk, ByteBuffer content) {
        ByteBuffer d = content.duplicate();
        byte[] a = new byte[d.remaining()];
        d.get(a);
        return a.length == chunk.length() && sha256(a, 0, a.length).equals(chunk.id());
      }
    };
  }

  static String sha256(byte[] b, int off, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, off, len);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private synchronized void stored(String id, byte[] data) {
    if (chunks.byId.putIfAbsent(id, data) == null) {
      newBytes += data.length;
    }
  }

  /** A gear table for content-defined cuts: fixed, so that boundaries are the same from one capture to the next. */
  private static final long[] GEAR = new java.util.SplittableRandom(0x4c656e636170L).longs(256).toArray();

  /**
   * The requested chunking: fixed chunks, or content-defined ones (a gear rolling hash between min and max, cut
   * where its top bits at the average's width are zero), so that a stream whose content shifts (a VM's memory
   * image) shares its unchanged chunks here as in the real store.
   */
  private final class Writer implements EntryWriter {
    private final String path;
    private final EntryKind kind;
    private final Map<String, String> attrs;
    private final Chunking chunking;
    private final int chunkSize;
    private final long mask;
    private long hash;
    private final List<ChunkRef> refs = new ArrayList<>();
    private final byte[] buffer;
    private int filled;
    private long size;
    private boolean closed;

    Writer(String path, EntryKind kind, Map<String, String> attrs, Chunking chunking) {
      this.path = path;
      this.kind = kind;
      this.attrs = Map.copyOf(attrs);
      this.chunking = chunking;
      this.chunkSize = chunking.kind() == Chunking.Kind.FIXED ? chunking.average() : chunking.max();
      this.mask = -1L << (64 - Integer.numberOfTrailingZeros(Integer.highestOneBit(chunking.average())));
      this.buffer = new byte[chunkSize];
    }

    @Override
    public void write(ByteBuffer data) {
      while (data.hasRemaining()) {
        if (chunking.kind() == Chunking.Kind.CONTENT_DEFINED) {
          byte b = data.get();
          buffer[filled++] = b;
          size++;
          hash = (hash << 1) + GEAR[b & 0xff];
          if (filled == chunkSize || (filled >= chunking.min() && (hash & mask) == 0)) {
            emit();
          }
          continue;
        }
        int n = Math.min(data.remaining(), chunkSize - filled);
        data.get(buffer, filled, n);
        filled += n;
        size += n;
        if (filled == chunkSize) {
          emit();
        }
      }
    }

    @Override
    public void reuse(ChunkRef chunk) {
      if (filled != 0) {
        throw new IllegalStateException("reuse only at a chunk boundary");
      }
      refs.add(new ChunkRef(chunk.id(), size, chunk.length()));
      size += chunk.length();
    }

    private void emit() {
      byte[] data = java.util.Arrays.copyOf(buffer, filled);
      String id = sha256(data, 0, data.length);
      stored(id, data);
      refs.add(new ChunkRef(id, size - filled, filled));
      filled = 0;
      hash = 0;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public OutputStream asStream() {
      return new OutputStream() {
        @Override
        public void write(int b) {
          Writer.this.write(ByteBuffer.wrap(new byte[] {(byte) b}));
        }

        @Override
        public void write(byte[] b, int off, int len) {
          Writer.this.write(ByteBuffer.wrap(b, off, len));
        }

        @Override
        public void close() {
          Writer.this.close();
        }
      };
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (filled > 0) {
        emit();
      }
      entries.put(path, new StoredEntry(path, kind, size, attrs, refs));
    }
  }
}
