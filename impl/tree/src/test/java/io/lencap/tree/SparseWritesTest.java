package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Which contents a restore may write in one durable call: only those without a hole to keep. */
class SparseWritesTest {
  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    for (int i = 0; i < n; i += 512) {
      b[i] = 1; // no block of random bytes is all zeros by chance
    }
    return b;
  }

  @Test
  void contentWithoutZeroBlocksHasNone() {
    assertFalse(SparseWrites.hasZeroBlock(ByteBuffer.wrap(random(5000))));
    assertFalse(SparseWrites.hasZeroBlock(ByteBuffer.wrap(new byte[0])));
  }

  @Test
  void aWholeZeroBlockInTheMiddleIsAHole() {
    byte[] b = random(3 * SparseWrites.BLOCK);
    Arrays.fill(b, SparseWrites.BLOCK, 2 * SparseWrites.BLOCK, (byte) 0);
    assertTrue(SparseWrites.hasZeroBlock(ByteBuffer.wrap(b)));
  }

  @Test
  void zerosAtTheEndAreAHoleTooAsWriteNonZeroSkipsThem() {
    byte[] b = random(SparseWrites.BLOCK + 100);
    Arrays.fill(b, SparseWrites.BLOCK, b.length, (byte) 0);
    assertTrue(SparseWrites.hasZeroBlock(ByteBuffer.wrap(b)));
  }

  @Test
  void looksOnlyAtTheRemainingBytes() {
    byte[] b = random(2 * SparseWrites.BLOCK);
    Arrays.fill(b, 0, SparseWrites.BLOCK, (byte) 0);
    assertFalse(SparseWrites.hasZeroBlock(ByteBuffer.wrap(b, SparseWrites.BLOCK, SparseWrites.BLOCK).slice()));
    assertTrue(SparseWrites.hasZeroBlock(ByteBuffer.wrap(b)));
  }
}
