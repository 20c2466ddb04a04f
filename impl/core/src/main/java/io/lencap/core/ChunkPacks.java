package io.lencap.core;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * One member's packs during a capture: small chunks, encoded as they would be stored alone, written one after the
 * other into objects of about {@link #TARGET} bytes ({@code packs/ab/abcd...}, named by the hash of their bytes)
 * instead of one object each. A local store spent about 40% of an NFS tree's capture creating one file per chunk
 * (docs/bench/nfs-profile.md); an object store pays a request per chunk. A pack has no header or index of its own:
 * the manifest says where each chunk is ({@link Manifest.Member#packs}), and a read checks the chunk's hash, as for
 * a chunk stored alone.
 *
 * <p>A chunk is added once per member; the member's manifest entry lists the chunks it wrote into packs and those
 * it names from packs written before (its parent's, or this process's). At most {@link #WRITING} packs are written
 * at once: adding waits for room, which bounds a member's packs to about 12 MiB of memory.
 */
final class ChunkPacks {
  static final String PREFIX = "packs/";
  /** Bytes of a pack: a few MiB, as a backend's objects are. */
  static final int TARGET = 4 << 20;
  /** Chunks of fewer raw bytes go into packs; larger ones amortise their object themselves. */
  static final int CHUNK_BELOW = 128 << 10;
  private static final int WRITING = 2;

  /** Where a packed chunk is: its pack's id, and its encoded bytes' offset and size there. */
  record Slot(String pack, long offset, int size) {}

  private final ChunkStore chunks;
  private final Executor io;
  private final Semaphore writing = new Semaphore(WRITING);
  /** The member's packs, written or named: pack id to its chunks. */
  private final Map<String, List<Manifest.Packed>> packs = new ConcurrentHashMap<>();
  private final Set<String> named = ConcurrentHashMap.newKeySet();
  private final List<CompletableFuture<Void>> writes = new ArrayList<>();
  private final AtomicReference<@Nullable Throwable> failed = new AtomicReference<>();
  private byte[] open = new byte[0];
  private int used;
  private List<Manifest.Packed> inOpen = new ArrayList<>();

  ChunkPacks(ChunkStore chunks, Executor io) {
    this.chunks = chunks;
    this.io = io;
  }

  static String key(String packId) {
    return PREFIX + packId.substring(0, 2) + "/" + packId;
  }

  /** Every chunk of these packs by id, with its slot. */
  static Map<String, Slot> slots(Map<String, List<Manifest.Packed>> packs) {
    Map<String, Slot> out = new HashMap<>();
    packs.forEach((pack, in) -> in.forEach(p -> out.put(p.id(), new Slot(pack, p.offset(), p.size()))));
    return out;
  }

  /**
   * Adds a chunk's encoded bytes to the open pack, unless the member has it in a pack already; writes the pack
   * when it is full. Returns the bytes added.
   */
  long add(String id, byte[] encoded) throws IOException {
    throwIfFailed();
    if (!named.add(id)) {
      return 0;
    }
    synchronized (this) {
      if (used + encoded.length > open.length) {
        open = Arrays.copyOf(open, Math.max(used + encoded.length, Math.min(TARGET + CHUNK_BELOW, 2 * open.length
            + encoded.length)));
      }
      System.arraycopy(encoded, 0, open, used, encoded.length);
      inOpen.add(new Manifest.Packed(id, used, encoded.length));
      used += encoded.length;
      if (used >= TARGET) {
        write();
      }
    }
    return encoded.length;
  }

  /** Names a chunk stored in a pack before this capture. */
  void reuse(String id, Slot slot) {
    if (named.add(id)) {
      packed(slot.pack(), List.of(new Manifest.Packed(id, slot.offset(), slot.size())));
    }
  }

  /** Writes the open pack and waits for every write: the member's packs, each chunk in one. */
  Map<String, List<Manifest.Packed>> finish() throws IOException {
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
    Map<String, List<Manifest.Packed>> out = new HashMap<>();
    packs.forEach((pack, in) -> out.put(pack, List.copyOf(in)));
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
    List<Manifest.Packed> in = inOpen;
    used = 0;
    inOpen = new ArrayList<>();
    writes.add(CompletableFuture.runAsync(() -> {
      try {
        String id = chunks.codec().digest(bytes, 0, bytes.length);
        chunks.storePack(id, bytes, in);
        packed(id, in);
      } catch (IOException | RuntimeException e) {
        failed.compareAndSet(null, e);
        throw new CompletionException(e);
      } finally {
        writing.release();
      }
    }, io));
  }

  private void packed(String pack, List<Manifest.Packed> in) {
    packs.compute(pack, (k, before) -> {
      List<Manifest.Packed> all = before == null ? new ArrayList<>() : before;
      all.addAll(in);
      return all;
    });
  }

  private void throwIfFailed() throws IOException {
    Throwable e = failed.get();
    if (e != null) {
      throw new IOException("a pack of chunks could not be written: " + e.getMessage(), e);
    }
  }
}
