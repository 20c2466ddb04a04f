package io.lencap.core;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The parent's chunks a capture's driver just read, as the store verified them, kept for a moment: a driver that
 * patches changed bytes onto the parent's chunk (a tracked VM disk) writes a chunk whose delta is taken against that
 * same chunk, and the writer then finds its base here instead of reading and hashing it again. One per capture,
 * bounded by bytes for the whole group; a chunk is taken once; a miss only costs the read it would have cost anyway.
 */
final class RecentChunks {
  /** Several members' chunks read ahead plus those their writers have in flight. */
  private static final long BYTES = 32L << 20;

  private final Cache<String, ByteBuffer> verified = CacheBuilder.newBuilder().maximumWeight(BYTES)
      .<String, ByteBuffer>weigher((id, bytes) -> bytes.remaining()).build();

  /** Remembers a chunk's content, verified against its id by the caller. */
  void keep(String id, ByteBuffer content) {
    verified.put(id, content.asReadOnlyBuffer());
  }

  /**
   * The chunk's content, read-only and not copied, when it is still here and of that length; it is then forgotten
   * (the driver may still be reading the same bytes: neither writes them).
   */
  Optional<ByteBuffer> take(String id, int length) {
    ByteBuffer b = verified.asMap().remove(id);
    return b == null || b.remaining() != length ? Optional.empty() : Optional.of(b.duplicate());
  }
}
