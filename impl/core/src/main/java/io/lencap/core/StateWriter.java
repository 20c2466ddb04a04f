package io.lencap.core;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One member's {@link StateSink} during a capture: chunks each entry, hashes and encodes the chunks on the
 * chunk pool and writes them on the store pool, several at a time per entry, so that a driver streaming one
 * large entry still uses every core and overlaps the backend's latencies.
 *
 * <p>A fixed-size chunk that differs from the parent's chunk at the same offset of the same entry (same length)
 * is stored as a {@link ChunkDelta} against that chunk (or against the full chunk the parent's is a delta of),
 * read back from the store and verified, when a quarter of its blocks or less changed. Set the system property
 * {@code lencap.store.deltas} to {@code false} to store every chunk whole.
 *
 * <p>A chunk of fewer bytes than the backend's {@link io.lencap.spi.BlobBackend#packBelow} goes into the capture's
 * {@link ChunkPacks packs}, unless the parent names it whole; a delta's base may be such a chunk, and a member that
 * names the delta lists where its base is. The store option {@code packs=false} stores each chunk in its own
 * object.
 */
final class StateWriter implements StateSink {
  /** Chunks of one entry in flight at least (hashing, encoding or writing). */
  private static final int IN_FLIGHT = 4;
  /** The chunk pool's threads (as {@link EngineThreads} sizes it): each should have a chunk ready to take. */
  private static final int HASHERS = Runtime.getRuntime().availableProcessors() + 1;
  /** Bytes of one entry in flight at most, whatever the backend's concurrency: bounds memory per entry. */
  private static final long IN_FLIGHT_BYTES = 64L << 20;
  /**
   * Bytes of all the member's entries in flight at most: a driver may write many entries at once (an NFS member
   * works on 16 files by default), and memory must not grow with that.
   */
  static final int MEMBER_IN_FLIGHT_BYTES = 64 << 20;
  /** Zeros to feed the chunker from: only ever read. */
  private static final byte[] ZEROS = new byte[1 << 20];

  interface Progress {
    void report(long bytesDone, long totalBytes);
  }

  private final CheckpointStore store;
  private final Executor chunkPool;
  private final Executor storePool;
  private final Runnable cancelCheck;
  private final Progress progress;
  private final Map<String, StoredEntry> entries = Collections.synchronizedMap(new LinkedHashMap<>());
  private final Map<String, String> attributes = new ConcurrentHashMap<>();
  /** Chunks named by reference to stored state, never written by this capture: to prove before commit. */
  private final Map<String, Integer> referenced = new ConcurrentHashMap<>();
  /** Chunks of this member stored as deltas (by this capture or before it): id to its base's id. */
  private final Map<String, String> deltas = new ConcurrentHashMap<>();
  /** The parent's chunks its driver just read, verified: delta bases found there are not read again. */
  private final RecentChunks recent;
  /** The parent's state of this member (null without one): bases for deltas. */
  private final Manifest.Member parent;
  /** The parent's entries by path, indexed on first use: a tree of many entries must not scan it per entry. */
  private volatile Map<String, StoredEntry> parentEntries;
  private final boolean deltasOn = !"false".equals(System.getProperty("lencap.store.deltas"));
  /** The capture's packs, which its members share. */
  private final ChunkPacks packs;
  /** The chunks this member names in packs: by id, or by {@link ChunkPacks#deltaName} for its deltas. */
  private final java.util.Set<String> packed = ConcurrentHashMap.newKeySet();
  /** This member's deltas in packs: chunk id to base id. */
  private final Map<String, String> packedDeltas = new ConcurrentHashMap<>();
  /** This member's name for its deltas in the capture's packs. */
  private final String owner;
  /** The parent's packed chunks by id, indexed on first use. */
  private volatile Map<String, ChunkPacks.Slot> parentSlots;
  /** The chunks the parent names stored whole (not in a pack, not as a delta), indexed on first use. */
  private volatile java.util.Set<String> parentWhole;
  private final AtomicLong storedBytes = new AtomicLong();
  private final Semaphore memberInFlight = new Semaphore(MEMBER_IN_FLIGHT_BYTES, true);
  private final AtomicLong bytesDone = new AtomicLong();
  private volatile long expected = -1;
  private volatile long lastReport;

  StateWriter(CheckpointStore store, Executor chunkPool, Executor storePool, Runnable cancelCheck,
      Progress progress, Manifest.Member parent, ChunkPacks packs, RecentChunks recent) {
    this.recent = recent;
    this.parent = parent;
    this.store = store;
    this.chunkPool = chunkPool;
    this.storePool = storePool;
    this.cancelCheck = cancelCheck;
    this.progress = progress;
    this.packs = packs;
    this.owner = packs.owner();
  }

  /**
   * Whether the parent names the chunk stored whole: a small chunk is then named, not packed again (a store written
   * before packs keeps its chunks whole, and the commit proves them).
   */
  private boolean parentNamesWhole(String id) {
    if (parent == null) {
      return false;
    }
    java.util.Set<String> index = parentWhole;
    if (index == null) {
      java.util.Set<String> built = new java.util.HashSet<>();
      parent.entries().forEach(e -> e.chunks().forEach(c -> built.add(c.id())));
      built.removeAll(parent.deltas().keySet());
      built.removeAll(parent.slots().keySet());
      parentWhole = index = built;
    }
    return index.contains(id);
  }

  /** Where the parent stored a chunk in a pack, if it did. */
  private ChunkPacks.@Nullable Slot parentSlot(String id) {
    if (parent == null || parent.packs().isEmpty()) {
      return null;
    }
    Map<String, ChunkPacks.Slot> index = parentSlots;
    if (index == null) {
      parentSlots = index = parent.slots();
    }
    return index.get(id);
  }

  private StoredEntry parentEntry(String path) {
    Map<String, StoredEntry> index = parentEntries;
    if (index == null) {
      Map<String, StoredEntry> built = new HashMap<>();
      parent.entries().forEach(e -> built.putIfAbsent(e.path(), e)); // the first, as the scan found it
      parentEntries = index = built;
    }
    return index.get(path);
  }

  @Override
  public EntryWriter create(String path, EntryKind kind, Map<String, String> attrs, Chunking chunking) {
    cancelCheck.run();
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("entry path must not be empty");
    }
    return new Writer(path, kind, attrs, chunking);
  }

  @Override
  public void reuse(StoredEntry entry) {
    entry.chunks().forEach(this::referencing);
    entries.put(entry.path(), entry);
    moved(entry.size());
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
  public void expectBytes(long total) {
    expected = total;
  }

  /** Names a stored chunk by reference: it and, when it is a delta, its base are proven before commit. */
  private void referencing(ChunkRef c) {
    referenced.put(c.id(), c.length());
    ChunkPacks.Slot slot = parentSlot(c.id());
    if (slot != null) {
      reusePacked(c.id(), slot, c.length());
    }
    String base = parent == null ? null : parent.deltas().get(c.id());
    if (base != null) {
      deltaUsed(c.id(), base, c.length());
    }
  }

  /** Names a chunk in a pack written before: whole, or this member's delta of it, whose base it names too. */
  private void reusePacked(String id, ChunkPacks.Slot slot, int length) {
    String name = slot.base() == null ? id : ChunkPacks.deltaName(id, owner);
    packs.reuse(name, slot);
    packed.add(name);
    if (slot.base() != null) {
      deltaUsed(id, slot.base(), length);
    }
  }

  private void deltaUsed(String id, String base, int length) {
    deltas.put(id, base);
    referenced.put(base, length);
    ChunkPacks.Slot slot = packedSlot(base);
    if (slot != null) { // its readers find it there; its pack is proven at commit and kept by a collection
      packs.reuse(base, slot);
      packed.add(base);
    }
  }

  /**
   * Where a delta's base is in a pack, as the parent or this process knows it; null when it is stored whole. A base
   * is a whole chunk: a slot of a delta of the same content does not serve.
   */
  private ChunkPacks.@Nullable Slot packedSlot(String id) {
    ChunkPacks.Slot slot = parentSlot(id);
    if (slot != null && slot.base() == null) {
      return slot;
    }
    return store.chunks().knownPacked(id).orElse(null); // whole chunks only
  }

  /** Of the chunks stored as deltas, those the entries name: id to base id. */
  Map<String, String> deltas() {
    Map<String, String> out = new HashMap<>();
    for (StoredEntry e : entries()) {
      for (ChunkRef c : e.chunks()) {
        String base = deltas.get(c.id());
        if (base != null) {
          out.put(c.id(), base);
        }
      }
    }
    return out;
  }

  List<StoredEntry> entries() {
    synchronized (entries) {
      return List.copyOf(entries.values());
    }
  }

  /** Where the chunks this member names in packs are (see {@link Manifest.Member#packs}), once they are written. */
  Map<String, List<Manifest.Packed>> packs() {
    return packs.packsOf(packed);
  }

  Map<String, String> attributes() {
    return Map.copyOf(attributes);
  }

  long logicalBytes() {
    return entries().stream().mapToLong(StoredEntry::size).sum();
  }

  long storedBytes() {
    return storedBytes.get();
  }

  /** How many of this member's writers wait for room under {@link #MEMBER_IN_FLIGHT_BYTES}. */
  int waitingForRoom() {
    return memberInFlight.getQueueLength();
  }

  /** Chunks this member names by reference, without having written or found them (id to raw length). */
  Map<String, Integer> referencedChunks() {
    return referenced;
  }

  private void moved(long n) {
    long done = bytesDone.addAndGet(n);
    long now = System.nanoTime();
    if (now - lastReport > 250_000_000L) { // at most four progress events a second per member
      lastReport = now;
      progress.report(done, expected);
    }
  }

  /** Final progress figure, once the member's transfer ends. */
  void reportDone() {
    progress.report(bytesDone.get(), expected < 0 ? bytesDone.get() : expected);
  }

  private final class Writer implements EntryWriter {
    private final String path;
    private final EntryKind kind;
    private final Map<String, String> attrs;
    private final Chunker chunker;
    /** The parent's chunks of this entry by offset, when its chunks are fixed-size: delta bases. */
    private final Map<Long, ChunkRef> bases;
    /** Chunks of fewer bytes go into packs. */
    private final int packBelow;
    private final Chunking chunking;
    /** The first whole zero chunk this writer stored: the later ones are named after it ({@link #zeros}). */
    private CompletableFuture<ChunkRef> zeroChunk;
    /** Whether the bytes the chunker holds (none at a boundary) are zeros that followed a cut. */
    private boolean heldZeros = true;
    /** Zeros written and not yet given to the chunker: they follow what it holds. */
    private long zeroRun;
    private final List<CompletableFuture<ChunkRef>> chunks = new ArrayList<>();
    private final Semaphore inFlight;
    private final int permits;
    private long size;
    private long emitted;
    private boolean closed;

    Writer(String path, EntryKind kind, Map<String, String> attrs, Chunking chunking) {
      this.path = path;
      this.kind = kind;
      this.attrs = Map.copyOf(attrs);
      this.chunker = new Chunker(chunking, this::store);
      this.bases = new HashMap<>();
      boolean deltaBases = chunking.kind() == Chunking.Kind.FIXED && ChunkDelta.worthTrying(chunking.max());
      this.packBelow = store.chunks().packBelow();
      this.chunking = chunking;
      if (deltasOn && parent != null && deltaBases) {
        StoredEntry e = parentEntry(path);
        if (e != null) {
          e.chunks().forEach(c -> bases.put(c.offset(), c));
        }
      }
      // Enough chunks that every hasher and every store thread has one while the driver reads the next:
      // with only the backend's concurrency (4) in flight, JFR showed the driver parked on the semaphore while
      // hashing threads waited for work.
      int wanted = 2 * HASHERS + store.chunks().concurrency();
      this.permits = (int) Math.max(IN_FLIGHT, Math.min(wanted, IN_FLIGHT_BYTES / chunking.max()));
      this.inFlight = new Semaphore(permits);
    }

    /** Bytes of zeros go to {@link #zeros}: a test that stops at the first other byte, so data costs nothing. */
    @Override
    public void write(ByteBuffer data) throws IOException {
      ensureOpen();
      cancelCheck.run();
      int n = data.remaining();
      byte[] bytes;
      int at;
      if (data.hasArray()) {
        bytes = data.array();
        at = data.arrayOffset() + data.position();
      } else {
        bytes = new byte[n];
        data.duplicate().get(bytes);
        at = 0;
      }
      data.position(data.limit());
      if (n > 0 && ChunkCodec.isZero(bytes, at, n)) {
        zeros(n);
      } else {
        drainZeros(true);
        append(bytes, at, n);
        heldZeros = chunker.atBoundary();
      }
    }

    @Override
    public void write(byte[] data, int offset, int length) throws IOException {
      write(ByteBuffer.wrap(data, offset, length));
    }

    private void append(byte[] data, int offset, int length) throws IOException {
      try {
        chunker.write(data, offset, length);
      } catch (CompletionException e) {
        throw unwrap(e);
      }
      size += length;
      moved(length);
      failFast();
    }

    /**
     * Holes and runs of zeros (a sparse disk, a sparse file in a tree, a LUN never written): once a whole zero chunk
     * went the usual way, each later one that starts at a chunk boundary is named after it, with no bytes copied,
     * scanned, hashed or stored (a 16 GiB disk holding 512 MiB has 63,000 of them). Zeros cut from a boundary make
     * chunks of one length ({@link Chunker#zeroChunkLength}), content-defined ones too, so the chunks and their ids
     * are those the bytes would have made. Zeros are counted, not given to the chunker, until they make such a chunk
     * or other bytes follow: a reader's buffer is often smaller than a chunk.
     */
    @Override
    public void zeros(long length) throws IOException {
      ensureOpen();
      cancelCheck.run();
      zeroRun += length;
      drainZeros(false);
    }

    /** Hands the zeros counted so far on: all of them, or only those that reach a cut. */
    private void drainZeros(boolean all) throws IOException {
      int whole = zeroRun == 0 ? 0 : Chunker.zeroChunkLength(chunking);
      while (zeroRun > 0) {
        if (heldZeros && chunker.atBoundary() && zeroRun >= whole && zeroChunk != null) {
          long offset = emitted;
          chunks.add(zeroChunk.thenApply(z -> new ChunkRef(z.id(), offset, whole)));
          size += whole;
          emitted += whole;
          moved(whole);
          zeroRun -= whole;
          continue;
        }
        long held = size - emitted;
        long toCut = (heldZeros ? whole : chunking.max()) - held; // where the chunker must cut, at the latest
        if (zeroRun < toCut && !all) {
          return; // more zeros may follow and make a whole zero chunk
        }
        boolean fromBoundary = held == 0 && heldZeros;
        int n = (int) Math.min(zeroRun, toCut);
        int before = chunks.size();
        for (int done = 0; done < n; done += ZEROS.length) {
          append(ZEROS, 0, Math.min(ZEROS.length, n - done));
        }
        if (fromBoundary && n == whole) {
          zeroChunk = chunks.get(chunks.size() - 1); // the one chunk those zeros made
        }
        heldZeros |= chunks.size() > before; // a cut among the zeros leaves only zeros held
        zeroRun -= n;
      }
    }

    @Override
    public void reuse(ChunkRef chunk) throws IOException {
      ensureOpen();
      drainZeros(true);
      if (!chunker.atBoundary()) {
        throw new IllegalStateException("reuse(" + chunk.id() + ") of entry " + path
            + " is not at a chunk boundary (offset " + size + ")");
      }
      referencing(chunk);
      chunks.add(CompletableFuture.completedFuture(new ChunkRef(chunk.id(), size, chunk.length())));
      size += chunk.length();
      emitted += chunk.length();
      moved(chunk.length());
    }

    /** A chunk from the chunker: its bytes are {@code framed[1, ...)}. */
    private void store(byte[] framed) {
      int length = framed.length - 1;
      long offset = emitted;
      emitted += length;
      int weight = Math.min(framed.length, MEMBER_IN_FLIGHT_BYTES);
      try {
        inFlight.acquire();
        try {
          memberInFlight.acquire(weight);
        } catch (InterruptedException e) {
          inFlight.release();
          throw e;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CompletionException(new InterruptedIOException("interrupted while storing " + path));
      }
      ChunkRef there = bases.get(offset);
      ChunkRef before = there != null && there.length() == length ? there : null;
      chunks.add(CompletableFuture.supplyAsync(() -> store.codec().id(framed, 1, length), chunkPool)
          .thenCompose(id -> store(new ChunkRef(id, offset, length), framed, before))
          .whenComplete((ref, e) -> {
            memberInFlight.release(weight);
            inFlight.release();
          }));
    }

    /**
     * On the chunk pool: stores a hashed chunk ({@code framed[1, ...)}) whole, as a delta against {@code before},
     * or not at all.
     */
    private CompletableFuture<ChunkRef> store(ChunkRef ref, byte[] framed, ChunkRef before) {
      String id = ref.id();
      int length = ref.length();
      if (store.chunks().knownWhole(id)) {
        return CompletableFuture.completedFuture(ref);
      }
      ChunkPacks.Slot slot = parentSlot(id);
      if (slot == null) {
        slot = store.chunks().knownPacked(id).orElse(null);
      }
      if (slot != null && !store.chunks().damaged(id)
          && (slot.base() == null || !store.chunks().damaged(slot.base()))) { // in a pack: name it, prove it at commit
        referenced.put(id, length);
        reusePacked(id, slot, length);
        return CompletableFuture.completedFuture(ref);
      }
      String existing = parent == null ? null : parent.deltas().get(id);
      if (existing == null) {
        existing = store.chunks().knownDelta(id).orElse(null);
      }
      if (existing != null && (store.chunks().damaged(id) || store.chunks().damaged(existing))) {
        return whole(ref, framed); // that delta or its base failed a read: store the content whole (read first)
      }
      if (existing != null) { // stored as a delta already: name it, prove it and its base at commit
        referenced.put(id, length);
        deltaUsed(id, existing, length);
        return CompletableFuture.completedFuture(ref);
      }
      if (before == null || before.id().equals(id)) {
        return whole(ref, framed);
      }
      String baseId = parent.deltas().getOrDefault(before.id(), before.id()); // bases are whole chunks
      return CompletableFuture.supplyAsync(() -> {
        try {
          Optional<ByteBuffer> known = recent.take(baseId, length);
          return known.isPresent() ? known
              : store.chunks().readWhole(baseId, packedSlot(baseId), length).map(ByteBuffer::wrap);
        } catch (IOException e) {
          throw new CompletionException(e);
        }
      }, storePool).thenComposeAsync(base -> base
          .flatMap(b -> ChunkDelta.encode(baseId, b, framed, 1, framed.length - 1))
          .map(delta -> CompletableFuture.supplyAsync(() -> {
            try {
              byte[] encoded = store.chunks().encodeDelta(id, delta);
              if (encoded.length < packBelow) {
                if (packedDeltas.putIfAbsent(id, baseId) == null) { // else this member packed it already
                  String name = ChunkPacks.deltaName(id, owner);
                  storedBytes.addAndGet(packs.addDelta(name, id, encoded, baseId));
                  packed.add(name);
                  deltaUsed(id, baseId, length);
                }
                return ref;
              }
              long added = store.chunks().storeDelta(id, baseId, encoded);
              if (added < 0) {
                return null; // a delta of it exists on another base: store it whole
              }
              storedBytes.addAndGet(added);
              deltaUsed(id, baseId, length);
              return ref;
            } catch (IOException e) {
              throw new CompletionException(e);
            }
          }, storePool).thenCompose(r -> r != null ? CompletableFuture.completedFuture(r) : whole(ref, framed)))
          .orElseGet(() -> whole(ref, framed)), chunkPool);
    }

    /**
     * Encodes a chunk ({@code framed[1, ...)}) whole on the calling thread and writes it on the store pool: a chunk
     * that stays raw is written from {@code framed} itself.
     */
    private CompletableFuture<ChunkRef> whole(ChunkRef ref, byte[] framed) {
      boolean small = ref.length() < packBelow;
      if (small && parentNamesWhole(ref.id()) && !store.chunks().damaged(ref.id())) {
        referenced.put(ref.id(), ref.length());
        return CompletableFuture.completedFuture(ref);
      }
      ChunkStore.Encoded encoded = store.chunks().encodeFramed(ref.id(), framed);
      if (small && encoded.bytes() != null) {
        return CompletableFuture.supplyAsync(() -> {
          try {
            storedBytes.addAndGet(packs.add(ref.id(), encoded.bytes()));
            packed.add(ref.id());
            return ref;
          } catch (IOException e) {
            throw new CompletionException(e);
          }
        }, storePool);
      }
      return CompletableFuture.supplyAsync(() -> {
        try {
          storedBytes.addAndGet(store.chunks().store(encoded));
          return ref;
        } catch (IOException e) {
          throw new CompletionException(e);
        }
      }, storePool);
    }

    /** Surfaces a failed chunk store early instead of at close. */
    private void failFast() throws IOException {
      for (int i = chunks.size() - 1; i >= 0 && i >= chunks.size() - permits * 2; i--) {
        CompletableFuture<ChunkRef> f = chunks.get(i);
        if (f.isCompletedExceptionally()) {
          await(f);
        }
      }
    }

    @Override
    public long size() {
      return size + zeroRun;
    }

    @Override
    public OutputStream asStream() {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          Writer.this.write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          Writer.this.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          Writer.this.close();
        }
      };
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        drainZeros(true);
        chunker.finish();
      } catch (CompletionException e) {
        throw failed(unwrap(e));
      } catch (IOException e) {
        throw failed(e);
      }
      List<ChunkRef> refs = new ArrayList<>(chunks.size());
      try {
        for (CompletableFuture<ChunkRef> f : chunks) {
          refs.add(await(f));
        }
      } catch (IOException e) {
        throw failed(e);
      }
      entries.put(path, new StoredEntry(path, kind, size, attrs, refs));
    }

    private ChunkRef await(CompletableFuture<ChunkRef> f) throws IOException {
      try {
        return f.join();
      } catch (CompletionException e) {
        throw unwrap(e);
      }
    }

    /** A fresh exception each time: the same instance thrown by write() and close() cannot be suppressed. */
    private IOException failed(IOException cause) {
      return new IOException("entry " + path + ": " + cause.getMessage(), cause);
    }

    private IOException unwrap(CompletionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        return io;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      return new IOException(c);
    }

    private void ensureOpen() throws IOException {
      if (closed) {
        throw new IOException("entry " + path + " is closed");
      }
    }
  }
}
