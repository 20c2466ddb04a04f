package io.lencap.spi;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A member's state in a committed checkpoint. Every chunk read is verified against its hash: a missing
 * or corrupt chunk throws {@link io.lencap.api.CorruptCheckpointException} naming the checkpoint, member
 * and chunk, so no bad byte ever reaches a target.
 */
public interface StoredState {
  String checkpointId();

  Map<String, String> attributes();

  /** Entries in the order they were written (parents before children for trees written that way). */
  List<StoredEntry> entries();

  Optional<StoredEntry> entry(String path);

  /** One chunk's bytes, verified. */
  ByteBuffer read(ChunkRef chunk) throws IOException;

  /**
   * An entry's content as a stream, each chunk verified before its bytes are returned. The stream reads the chunks
   * the entry lists, in order, so an entry made of some of a stored entry's chunks streams just those.
   */
  InputStream open(StoredEntry entry) throws IOException;

  /**
   * Whether the chunk's bytes are all zero, known from its id alone (no read): a restore can leave such chunks as
   * holes in a sparse target instead of streaming them. False by default, which only costs their reads.
   */
  default boolean isZero(ChunkRef chunk) {
    return false;
  }

  /** Whether {@code content} (its remaining bytes) is exactly the chunk: differential restore skips it then. */
  boolean matches(ChunkRef chunk, ByteBuffer content);
}
