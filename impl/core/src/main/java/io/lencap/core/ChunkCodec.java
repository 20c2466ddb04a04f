package io.lencap.core;

import com.github.luben.zstd.Zstd;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * How chunk and manifest bytes are hashed and laid out in the store: a format byte, then the payload
 * (raw, or zstd when that saves at least 3 %). Chunk ids are SHA-256 of the raw bytes.
 */
final class ChunkCodec {
  static final byte RAW = 0;
  static final byte ZSTD = 1;
  private static final int LEVEL = 1; // fastest level: hashing and compressing must keep up with disks
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  });

  private ChunkCodec() {}

  static String id(byte[] data, int offset, int length) {
    MessageDigest md = SHA256.get();
    md.update(data, offset, length);
    return HexFormat.of().formatHex(md.digest());
  }

  static byte[] encode(byte[] raw) {
    byte[] packed = Zstd.compress(raw, LEVEL);
    if (packed.length < raw.length - raw.length / 32) {
      return withHeader(ZSTD, packed);
    }
    return withHeader(RAW, raw);
  }

  /** The raw bytes, or an {@link IllegalArgumentException} when the stored form is damaged. */
  static byte[] decode(byte[] stored) {
    if (stored.length == 0) {
      throw new IllegalArgumentException("empty object");
    }
    byte[] payload = Arrays.copyOfRange(stored, 1, stored.length);
    switch (stored[0]) {
      case RAW:
        return payload;
      case ZSTD:
        long size = Zstd.getFrameContentSize(payload);
        if (size < 0 || size > Integer.MAX_VALUE) {
          throw new IllegalArgumentException("damaged zstd frame");
        }
        try {
          return Zstd.decompress(payload, (int) size);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException("damaged zstd frame: " + e.getMessage(), e);
        }
      default:
        throw new IllegalArgumentException("unknown format " + stored[0]);
    }
  }

  private static byte[] withHeader(byte format, byte[] payload) {
    byte[] out = new byte[payload.length + 1];
    out[0] = format;
    System.arraycopy(payload, 0, out, 1, payload.length);
    return out;
  }
}
