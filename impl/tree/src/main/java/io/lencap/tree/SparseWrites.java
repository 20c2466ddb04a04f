package io.lencap.tree;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Writes content into a new file without writing its blocks of zeros, so that the file keeps holes there
 * (a sparse file stays sparse); the caller sets the length when the content ends in zeros.
 */
final class SparseWrites {
  /** The grain at which zeros are skipped rather than written: a file system block. */
  static final int BLOCK = 4096;
  private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocate(BLOCK).asReadOnlyBuffer();

  private SparseWrites() {}

  /**
   * Writes the runs of {@code data} (its remaining bytes, for the file's bytes from {@code offset}) that are
   * not whole zero blocks; returns where the last write ended in the file, 0 when nothing was written.
   */
  static <H> long writeNonZero(TreeFiles<H> fs, H file, long offset, ByteBuffer data, String path)
      throws IOException {
    ByteBuffer d = data.duplicate();
    int base = d.position();
    int limit = d.limit();
    long end = 0;
    int runStart = -1;
    for (int at = base; at < limit; at += BLOCK) {
      int blockEnd = Math.min(limit, at + BLOCK);
      boolean zero = allZero(d, at, blockEnd);
      if (!zero && runStart < 0) {
        runStart = at;
      }
      if ((zero || blockEnd == limit) && runStart >= 0) {
        int runEnd = zero ? at : blockEnd;
        fs.write(file, offset + (runStart - base), d.slice(runStart, runEnd - runStart), path);
        end = offset + (runEnd - base);
        runStart = -1;
      }
    }
    return end;
  }

  /** Whether {@code data} (its remaining bytes) holds a whole block of zeros that {@link #writeNonZero} skips. */
  static boolean hasZeroBlock(ByteBuffer data) {
    int base = data.position();
    int limit = data.limit();
    for (int at = base; at < limit; at += BLOCK) {
      if (allZero(data, at, Math.min(limit, at + BLOCK))) {
        return true;
      }
    }
    return false;
  }

  /** A vectorised compare with a block of zeros. */
  private static boolean allZero(ByteBuffer b, int from, int to) {
    return b.slice(from, to - from).mismatch(ZERO_BLOCK.slice(0, to - from)) < 0;
  }
}
