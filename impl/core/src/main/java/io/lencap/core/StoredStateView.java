package io.lencap.core;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;

/** A member's state in a committed checkpoint, read through the store with every chunk verified. */
final class StoredStateView implements StoredState {
  /** Chunks fetched ahead of the reader when streaming an entry, at least. */
  private static final int READ_AHEAD = 4;
  /** Bytes fetched ahead at most, whatever the backend's concurrency: bounds memory per stream. */
  private static final long READ_AHEAD_BYTES = 64L << 20;

  private final CheckpointStore store;
  private final Executor storePool;
  private final String checkpointId;
  private final Manifest.Member member;
  private final Map<String, ChunkPacks.Slot> slots;
  /** Where the chunks read are also kept for a capture's writer, when this is a capture's parent. */
  private final Optional<RecentChunks> recent;

  StoredStateView(CheckpointStore store, Executor storePool, String checkpointId, Manifest.Member member) {
    this(store, storePool, checkpointId, member, Optional.empty());
  }

  StoredStateView(CheckpointStore store, Executor storePool, String checkpointId, Manifest.Member member,
      Optional<RecentChunks> recent) {
    this.store = store;
    this.storePool = storePool;
    this.checkpointId = checkpointId;
    this.member = member;
    this.slots = member.slots();
    this.recent = recent;
  }

  @Override
  public String checkpointId() {
    return checkpointId;
  }

  @Override
  public Map<String, String> attributes() {
    return member.attributes();
  }

  @Override
  public List<StoredEntry> entries() {
    return member.entries();
  }

  @Override
  public Optional<StoredEntry> entry(String path) {
    return member.entries().stream().filter(e -> e.path().equals(path)).findFirst();
  }

  @Override
  public boolean isZero(ChunkRef chunk) {
    return store.codec().isZero(chunk.id(), chunk.length());
  }

  @Override
  public ByteBuffer read(ChunkRef chunk) throws IOException {
    if (isZero(chunk)) {
      // Its id proves its content: a sparse disk's restore streams thousands of them, each would be a read, a
      // decompression and a check of the same stored object.
      return ByteBuffer.allocate(chunk.length()).asReadOnlyBuffer();
    }
    // A delta's base too: a patched block's delta is taken against the base of the parent's delta, not the delta.
    BiConsumer<String, ByteBuffer> bases = recent.isPresent() ? recent.get()::keep : null;
    ByteBuffer content = store.chunks().read(chunk, slots, checkpointId, member.id(), bases);
    recent.ifPresent(r -> r.keep(chunk.id(), content));
    return content;
  }

  @Override
  public boolean matches(ChunkRef chunk, ByteBuffer content) {
    if (content.remaining() != chunk.length()) {
      return false;
    }
    if (content.hasArray()) { // hashed where it lies: a LUN's restore compares every piece of the LUN
      return store.codec().id(content.array(), content.arrayOffset() + content.position(), content.remaining())
          .equals(chunk.id());
    }
    byte[] bytes = new byte[content.remaining()];
    content.duplicate().get(bytes);
    return store.codec().id(bytes, 0, bytes.length).equals(chunk.id());
  }

  @Override
  public InputStream open(StoredEntry entry) {
    long largest = entry.chunks().stream().mapToLong(ChunkRef::length).max().orElse(1);
    int depth = (int) Math.max(READ_AHEAD, Math.min(store.chunks().concurrency(), READ_AHEAD_BYTES / Math.max(1, largest)));
    return new ChunkStream(entry.chunks().iterator(), depth);
  }

  /** Streams chunks in order, fetching (and verifying) several ahead on the store pool. */
  private final class ChunkStream extends InputStream {
    private final Iterator<ChunkRef> refs;
    private final int depth;
    private final Deque<CompletableFuture<ByteBuffer>> ahead = new ArrayDeque<>();
    private ByteBuffer current = ByteBuffer.allocate(0);

    ChunkStream(Iterator<ChunkRef> refs, int depth) {
      this.refs = refs;
      this.depth = depth;
      fill();
    }

    private void fill() {
      while (ahead.size() < depth && refs.hasNext()) {
        ChunkRef ref = refs.next();
        ahead.add(CompletableFuture.supplyAsync(() -> {
          try {
            return StoredStateView.this.read(ref);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }, storePool));
      }
    }

    private boolean advance() throws IOException {
      while (!current.hasRemaining()) {
        CompletableFuture<ByteBuffer> next = ahead.poll();
        if (next == null) {
          return false;
        }
        try {
          current = next.join();
        } catch (CompletionException e) {
          if (e.getCause() instanceof UncheckedIOException u) {
            throw u.getCause();
          }
          if (e.getCause() instanceof RuntimeException r) {
            throw r;
          }
          throw new IOException(e.getCause());
        }
        fill();
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return advance() ? current.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!advance()) {
        return -1;
      }
      int n = Math.min(len, current.remaining());
      current.get(b, off, n);
      return n;
    }

    @Override
    public void close() {
      ahead.forEach(f -> f.cancel(false));
      ahead.clear();
    }
  }
}
