package io.lencap.core;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ChunkRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's chunks ({@code chunks/ab/abcd...}): content-addressed, encoded by {@link ChunkCodec}, written
 * once. It remembers which chunks this process wrote or proved in the current collection generation, so
 * that a capture need not look them up again, and which it found damaged, so that a capture reads their
 * content again instead of reusing it. A chunk that exists is not taken as intact: a write that finds one
 * of another size replaces it, and {@link #unproven} checks a reused chunk's size against its length.
 */
final class ChunkStore {
  private static final Logger log = LoggerFactory.getLogger(ChunkStore.class);
  static final String PREFIX = "chunks/";
  /** Above this many chunks to prove, one listing of all chunks is cheaper than a look-up each. */
  private static final int STAT_LIMIT = 2000;

  private final BlobBackend backend;
  private final ChunkCodec codec;
  /** Chunks this process wrote or proved since the collection generation {@link #generation}. */
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private volatile String generation = "";
  /** Chunks found damaged and not written again since. */
  private final Set<String> damaged = ConcurrentHashMap.newKeySet();

  ChunkStore(BlobBackend backend, ChunkCodec codec) {
    this.backend = backend;
    this.codec = codec;
  }

  static String key(String id) {
    return PREFIX + id.substring(0, 2) + "/" + id;
  }

  /** The id of a chunk's key in a listing of {@link #PREFIX}. */
  static String idOf(String key) {
    return key.substring(key.lastIndexOf('/') + 1);
  }

  ChunkCodec codec() {
    return codec;
  }

  /** Stores a chunk unless present; returns the bytes it added to the store (0 when deduplicated). */
  long put(String id, byte[] raw) throws IOException {
    return store(encode(id, raw));
  }

  /** A chunk encoded for the backend (the CPU half of a put); no bytes when the store has it already. */
  Encoded encode(String id, byte[] raw) {
    String key = key(id);
    return new Encoded(id, key, known.contains(id) ? null : codec.encode(key, raw));
  }

  /**
   * Writes an encoded chunk unless present (the I/O half); returns the bytes added, 0 when deduplicated.
   * A present object of another size than this encoding is damaged (encodings of one content have one
   * size): it is replaced.
   */
  long store(Encoded chunk) throws IOException {
    if (chunk.bytes() == null || known.contains(chunk.id())) {
      return 0;
    }
    boolean created = backend.putIfAbsent(chunk.key(), chunk.bytes());
    if (!created) {
      Optional<BlobInfo> present = backend.stat(chunk.key());
      if (present.isEmpty() || present.get().size() != chunk.bytes().length) {
        log.warn("chunk {} in {} is damaged ({} bytes where {} were expected): replacing it", chunk.id(),
            backend.describe(), present.map(i -> Long.toString(i.size())).orElse("no"), chunk.bytes().length);
        backend.put(chunk.key(), chunk.bytes());
        created = true;
      }
    }
    known.add(chunk.id());
    damaged.remove(chunk.id());
    return created ? chunk.bytes().length : 0;
  }

  /** Whether a chunk was found damaged and not written again since. */
  boolean damaged(String id) {
    return damaged.contains(id);
  }

  /**
   * Of these chunks (id to raw length), those not proven intact: absent, or of a stored size their raw
   * length does not allow. Chunks this process wrote or proved in this collection generation count as
   * proven only when {@code trustKnown}.
   */
  Set<String> unproven(Map<String, Integer> chunks, boolean trustKnown) throws IOException {
    Map<String, Integer> todo = new HashMap<>();
    chunks.forEach((id, length) -> {
      if (!trustKnown || !known.contains(id)) {
        todo.put(id, length);
      }
    });
    Map<String, Long> sizes = new HashMap<>();
    if (todo.size() > STAT_LIMIT) {
      for (BlobInfo info : backend.list(PREFIX)) {
        String id = idOf(info.key());
        if (todo.containsKey(id)) {
          sizes.put(id, info.size());
        }
      }
    } else {
      for (String id : todo.keySet()) {
        backend.stat(key(id)).ifPresent(i -> sizes.put(id, i.size()));
      }
    }
    Set<String> bad = new HashSet<>();
    todo.forEach((id, length) -> {
      Long size = sizes.get(id);
      if (size == null || !codec.plausibleSize(length, size)) {
        bad.add(id);
        known.remove(id);
        damaged.add(id);
      } else {
        known.add(id);
      }
    });
    return bad;
  }

  /** How many chunk reads or writes to keep in flight: the backend's own figure. */
  int concurrency() {
    return Math.max(1, backend.concurrency());
  }

  /** A chunk's raw bytes after verifying its hash; errors name the checkpoint, member and chunk. */
  ByteBuffer read(ChunkRef ref, String checkpointId, String memberId) throws IOException {
    Optional<byte[]> stored = backend.get(key(ref.id()));
    if (stored.isEmpty()) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "chunk missing from the store");
    }
    byte[] raw;
    try {
      raw = codec.decode(key(ref.id()), stored.get(), ref.length());
    } catch (ChunkCodec.UnreadableException e) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), e.getMessage());
    }
    if (raw.length != ref.length() || !codec.id(raw, 0, raw.length).equals(ref.id())) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "content does not match its hash");
    }
    return ByteBuffer.wrap(raw).asReadOnlyBuffer();
  }

  /** The collection generation seen now: what was known of chunks in an older one is forgotten. */
  void generationIs(String now) {
    if (!now.equals(generation)) {
      known.clear();
      generation = now;
    }
  }

  /** A collection deleted the chunk. */
  void deleted(String id) {
    known.remove(id);
  }

  /** {@code bytes} is null when the store already holds the chunk. */
  record Encoded(String id, String key, byte[] bytes) {}
}
