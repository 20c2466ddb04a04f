package io.lencap.core;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * A capture's packs: chunks smaller than the backend's {@link io.lencap.spi.BlobBackend#packBelow}, encoded as they
 * would be stored alone, written one after the other into objects of about the backend's
 * {@link io.lencap.spi.BlobBackend#packSize} (4 MiB, 16 MiB on HDFS)
 * ({@code packs/ab/abcd...}, named by the hash of their bytes) instead of one object each. A local store spent about
 * 40% of an NFS tree's capture creating one file per chunk (docs/bench/nfs-profile.md); an object store pays a
 * request per chunk, HDFS a NameNode transaction and a pipeline. A pack has no header or index of its own:
 * the manifest says where each chunk is ({@link Manifest.Member#packs}), and a read checks the chunk's hash, as for
 * a chunk stored alone.
 *
 * <p>The members of a capture share its packs, so that a chunk two of them hold (two guests' memory images) is
 * stored once. A chunk is added once per capture; each member's manifest entry lists where the chunks it names are,
 * whether a member wrote them or they are in packs written before (its parent's, or this process's). A few packs
 * are written at once ({@link #WRITING}, more on a backend that overlaps many requests): adding waits for room, which
 * bounds a capture's packs to a few times that size of memory.
 */
final class ChunkPacks {
  static final String PREFIX = "packs/";
  /** Packs written at once at least; a backend that overlaps many requests gets one per four of them. */
  private static final int WRITING = 2;

  /**
   * Where a packed chunk is: its pack's id, and its encoded bytes' offset and size there; with a {@code base}, those
   * bytes are its delta against that chunk.
   */
  record Slot(String pack, long offset, int size, @Nullable String base) {
    Slot(String pack, long offset, int size) {
      this(pack, offset, size, null);
    }
  }

  private final ChunkStore chunks;
  private final Executor io;
  private final Semaphore writing;
  /** The bytes a pack is filled to. */
  private final int size;
  /** Where the capture's packed chunks are, written or named, by name ({@link #deltaName} for a delta). */
  private final Map<String, Slot> slots = new ConcurrentHashMap<>();
  private final AtomicInteger owners = new AtomicInteger();
  private final Set<String> named = ConcurrentHashMap.newKeySet();
  private final List<CompletableFuture<Void>> writes = new ArrayList<>();
  private final AtomicReference<@Nullable Throwable> failed = new AtomicReference<>();
  private byte[] open = new byte[0];
  private int used;
  /** The open pack's chunks, by name. */
  private Map<String, Manifest.Packed> inOpen = new LinkedHashMap<>();

  ChunkPacks(ChunkStore chunks, Executor io) {
    this.chunks = chunks;
    this.io = io;
    this.writing = new Semaphore(Math.max(WRITING, chunks.concurrency() / 4));
    this.size = chunks.packSize();
  }

  static String key(String packId) {
    return PREFIX + packId.substring(0, 2) + "/" + packId;
  }

  /** Every chunk of these packs by id, with its slot. */
  static Map<String, Slot> slots(Map<String, List<Manifest.Packed>> packs) {
    Map<String, Slot> out = new HashMap<>();
    packs.forEach((pack, in) -> in.forEach(p -> out.put(p.id(), new Slot(pack, p.offset(), p.size(), p.base()))));
    return out;
  }

  /** A new name for one member's deltas: {@link #deltaName}. */
  String owner() {
    return Integer.toString(owners.incrementAndGet());
  }

  /**
   * The name a member's delta of a chunk is packed under. A delta is its member's own, never shared: another member
   * may hold the same content whole, or as a delta on another base.
   */
  static String deltaName(String id, String owner) {
    return id + "/" + owner;
  }

  /**
   * Adds a chunk's encoded bytes to the open pack, unless the capture has it in a pack already; writes the pack
   * when it is full. Returns the bytes added.
   */
  long add(String id, byte[] encoded) throws IOException {
    return add(id, id, encoded, null);
  }

  /** Adds a member's delta of chunk {@code id} on {@code base} ({@code encoded}) under {@code name}. */
  long addDelta(String name, String id, byte[] encoded, String base) throws IOException {
    return add(name, id, encoded, base);
  }

  private long add(String name, String id, byte[] encoded, @Nullable String base) throws IOException {
    throwIfFailed();
    if (!named.add(name)) {
      return 0;
    }
    synchronized (this) {
      if (used + encoded.length > open.length) {
        open = Arrays.copyOf(open, Math.max(used + encoded.length, Math.min(size, 2 * open.length
            + encoded.length)));
      }
      System.arraycopy(encoded, 0, open, used, encoded.length);
      inOpen.put(name, new Manifest.Packed(id, used, encoded.length, base));
      used += encoded.length;
      if (used >= size) {
        write();
      }
    }
    return encoded.length;
  }

  /** Names a chunk stored in a pack before this capture, by its id or its {@link #deltaName}. */
  void reuse(String name, Slot slot) {
    if (named.add(name)) {
      slots.put(name, slot);
    }
  }

  /** Writes the open pack and waits for every write. The capture adds no chunk after it. */
  void finish() throws IOException {
    List<CompletableFuture<Void>> all;
    synchronized (this) {
      if (used > 0) {
        write();
      }
      open = new byte[0];
      all = List.copyOf(writes);
    }
    try {
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      // the failure is recorded below
    }
    throwIfFailed();
  }

  /**
   * Where these chunks are, by pack (see {@link Manifest.Member#packs}), once {@link #finish} returned; named by id
   * or {@link #deltaName}.
   */
  Map<String, List<Manifest.Packed>> packsOf(Set<String> names) {
    Map<String, List<Manifest.Packed>> out = new HashMap<>();
    for (String name : names) {
      Slot slot = slots.get(name);
      if (slot == null) {
        throw new IllegalStateException("chunk " + name + " is in no pack of this capture: its packs are not finished");
      }
      String id = name.substring(0, name.indexOf('/') < 0 ? name.length() : name.indexOf('/'));
      out.computeIfAbsent(slot.pack(), p -> new ArrayList<>()).add(new Manifest.Packed(id, slot.offset(),
          slot.size(), slot.base()));
    }
    return out;
  }

  /** Hands the open pack to a writer thread, once one of the {@link #WRITING} is free. Holds the lock. */
  private void write() throws IOException {
    try {
      writing.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing a pack");
    }
    byte[] bytes = Arrays.copyOf(open, used); // the open buffer is filled again meanwhile
    Map<String, Manifest.Packed> in = inOpen;
    used = 0;
    inOpen = new LinkedHashMap<>();
    writes.add(CompletableFuture.runAsync(() -> {
      try {
        String id = chunks.codec().digest(bytes, 0, bytes.length);
        chunks.storePack(id, bytes, List.copyOf(in.values()));
        in.forEach((name, p) -> slots.put(name, new Slot(id, p.offset(), p.size(), p.base())));
      } catch (IOException | RuntimeException e) {
        failed.compareAndSet(null, e);
        throw new CompletionException(e);
      } finally {
        writing.release();
      }
    }, io));
  }

  private void throwIfFailed() throws IOException {
    Throwable e = failed.get();
    if (e != null) {
      throw new IOException("a pack of chunks could not be written: " + e.getMessage(), e);
    }
  }
}
