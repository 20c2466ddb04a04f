package io.lencap.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * A fixed-size chunk stored as the 4 KiB blocks in which it differs from a base chunk of the same length (in
 * practice the parent checkpoint's chunk at the same offset). A scattered 4 KiB write then costs a few KiB in
 * the store instead of a whole chunk, while the chunk keeps the id of its full content. The raw form (which
 * {@link ChunkCodec} then compresses and seals like any object): magic, version, the base's id, the chunk's
 * length, the block size, a bitmap of the changed blocks, then those blocks (the last may be short).
 */
final class ChunkDelta {
  static final int BLOCK = 4096;
  /**
   * A delta is stored only when at most this fraction of the chunk's blocks changed: above it a restore would
   * read the base for little saving, and a full chunk ends the growth of later deltas against the same base.
   */
  static final int MAX_CHANGED_DIVISOR = 4;
  private static final int MAGIC = 0x4c444c54; // "LDLT"
  private static final byte VERSION = 1;
  /** Chunk ids are SHA-256 or HMAC-SHA-256 in hex. */
  private static final int ID_LENGTH = 64;

  private ChunkDelta() {}

  /** Whether a chunk of this length can be stored as a delta at all (more than one block). */
  static boolean worthTrying(int length) {
    return length > BLOCK;
  }

  /**
   * The delta of {@code content} against {@code base} (same length), or empty when more than a quarter of the
   * blocks changed (or none did: then the two are the same chunk).
   */
  static Optional<byte[]> encode(String baseId, byte[] base, byte[] content) {
    return encode(baseId, ByteBuffer.wrap(base), content, 0, content.length);
  }

  /**
   * The same for the content {@code content[offset, offset + length)} against the base's remaining bytes, read in
   * place: neither is copied but for the changed blocks.
   */
  static Optional<byte[]> encode(String baseId, ByteBuffer base, byte[] content, int offset, int length) {
    if (base.remaining() != length) {
      throw new IllegalArgumentException("base of " + base.remaining() + " bytes for a chunk of " + length);
    }
    ByteBuffer was = base.slice();
    ByteBuffer now = ByteBuffer.wrap(content, offset, length).slice();
    int blocks = blocks(length);
    byte[] bitmap = new byte[(blocks + 7) / 8];
    int changed = 0;
    long changedBytes = 0;
    for (int b = 0; b < blocks; b++) {
      int from = b * BLOCK;
      int n = Math.min(length, from + BLOCK) - from;
      if (was.slice(from, n).mismatch(now.slice(from, n)) >= 0) {
        bitmap[b >>> 3] |= (byte) (1 << (b & 7));
        changed++;
        changedBytes += n;
        if (changed > blocks / MAX_CHANGED_DIVISOR) {
          return Optional.empty();
        }
      }
    }
    if (changed == 0) {
      return Optional.empty();
    }
    byte[] id = baseId.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer out = ByteBuffer.allocate(header(id.length, bitmap.length) + (int) changedBytes);
    out.putInt(MAGIC).put(VERSION).put((byte) id.length).put(id).putInt(length).putInt(BLOCK).put(bitmap);
    for (int b = 0; b < blocks; b++) {
      if ((bitmap[b >>> 3] & (1 << (b & 7))) != 0) {
        int from = b * BLOCK;
        out.put(content, offset + from, Math.min(length, from + BLOCK) - from);
      }
    }
    return Optional.of(out.array());
  }

  /** The most raw bytes a delta of a chunk of {@code length} bytes can hold: what a reader may decompress. */
  static int maxRawSize(int length) {
    return header(ID_LENGTH, (blocks(length) + 7) / 8) + length;
  }

  /** A parsed delta: the base it applies to and the changed blocks. */
  record Parsed(String baseId, int length, byte[] bitmap, byte[] delta, int dataStart) {
    /** The chunk's content: the base with the changed blocks put back. */
    byte[] apply(byte[] base) throws ChunkCodec.UnreadableException {
      if (base.length != length) {
        throw new ChunkCodec.UnreadableException("its base has " + base.length + " bytes where " + length
            + " were expected");
      }
      byte[] out = base.clone();
      int at = dataStart;
      for (int b = 0; b < blocks(length); b++) {
        if ((bitmap[b >>> 3] & (1 << (b & 7))) != 0) {
          int from = b * BLOCK;
          int n = Math.min(length, from + BLOCK) - from;
          if (at + n > delta.length) {
            throw new ChunkCodec.UnreadableException("delta is shorter than its bitmap says");
          }
          System.arraycopy(delta, at, out, from, n);
          at += n;
        }
      }
      if (at != delta.length) {
        throw new ChunkCodec.UnreadableException("delta has " + (delta.length - at) + " bytes more than its bitmap says");
      }
      return out;
    }
  }

  /** Parses a delta's raw form, refusing one that is not a delta of a chunk of {@code length} bytes. */
  static Parsed parse(byte[] raw, int length) throws ChunkCodec.UnreadableException {
    try {
      ByteBuffer in = ByteBuffer.wrap(raw);
      if (in.getInt() != MAGIC || in.get() != VERSION) {
        throw new ChunkCodec.UnreadableException("not a chunk delta of a known version");
      }
      int idLength = in.get() & 0xff;
      if (idLength != ID_LENGTH) {
        throw new ChunkCodec.UnreadableException("delta names a base id of " + idLength + " bytes");
      }
      byte[] id = new byte[idLength];
      in.get(id);
      String baseId = new String(id, StandardCharsets.US_ASCII);
      if (!baseId.matches("[0-9a-f]{" + ID_LENGTH + "}")) {
        throw new ChunkCodec.UnreadableException("delta names a base that is not a chunk id");
      }
      int declared = in.getInt();
      int block = in.getInt();
      if (declared != length || block != BLOCK) {
        throw new ChunkCodec.UnreadableException("delta of a " + declared + "-byte chunk in " + block
            + "-byte blocks where a " + length + "-byte chunk in " + BLOCK + "-byte blocks was expected");
      }
      byte[] bitmap = new byte[(blocks(length) + 7) / 8];
      in.get(bitmap);
      return new Parsed(baseId, length, bitmap, raw, in.position());
    } catch (java.nio.BufferUnderflowException e) {
      throw new ChunkCodec.UnreadableException("delta is truncated");
    }
  }

  private static int blocks(int length) {
    return (length + BLOCK - 1) / BLOCK;
  }

  private static int header(int idLength, int bitmapLength) {
    return 4 + 1 + 1 + idLength + 4 + 4 + bitmapLength;
  }
}
