package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.Chunking;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Chunk boundaries are part of what a store holds: a chunker that cut elsewhere would store every file again
 * instead of deduplicating it against earlier checkpoints. The expected figures were taken from the chunker
 * as of 8ef18b7 (before its buffer kept an offset instead of moving the rest after each chunk).
 */
class ChunkerTest {
  private static final byte[] DATA = data();

  /** 6 MiB + 12345 bytes: random, then a repeating text (no content boundary in it), then random again. */
  private static byte[] data() {
    byte[] d = new byte[(6 << 20) + 12345];
    SplittableRandom r = new SplittableRandom(19);
    for (int i = 0; i < d.length; i++) {
      d[i] = (byte) r.nextInt(256);
    }
    byte[] p = "lencap repetitive payload 0123456789 ".getBytes(StandardCharsets.US_ASCII);
    for (int i = 2 << 20; i < (4 << 20) + 777; i++) {
      d[i] = p[i % p.length];
    }
    return d;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 4096, 100_003, 1 << 20, (6 << 20) + 12345})
  void boundariesDoNotDependOnHowTheBytesArrive(int writeSize) {
    for (Chunking c : List.of(Chunking.contentDefined(), Chunking.contentDefined(1024, 4096, 16384),
        Chunking.fixed(65536))) {
      int size = writeSize == 1 ? (1 << 20) + 5 : DATA.length; // byte by byte on a shorter prefix
      assertEquals(reference(c, size), chunks(c, writeSize, size), c + ", writes of " + writeSize);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {4096, 100_003})
  void boundariesAreThoseOfEarlierReleases(int writeSize) {
    assertEquals(List.of(16, -1654900034), signature(Chunking.contentDefined(), writeSize));
    assertEquals(List.of(1027, -1954341232), signature(Chunking.contentDefined(1024, 4096, 16384), writeSize));
    assertEquals(List.of(97, -1053852584), signature(Chunking.fixed(65536), writeSize));
  }

  /**
   * On random bytes alone (24 MiB + 4321), figures taken from the chunker of f66cdf6, which copied every byte into
   * a window and scanned each chunk from its start: the scan that resumes across writes over the caller's array
   * cuts at the same places, chunk for chunk.
   */
  @ParameterizedTest
  @ValueSource(ints = {65536, 333_333, 1 << 20})
  void boundariesOnRandomBytesAreThoseOfEarlierReleases(int writeSize) {
    byte[] random = new byte[(24 << 20) + 4321];
    new SplittableRandom(2026).nextBytes(random);
    assertEquals(List.of(91, -205085846), signature(Chunking.contentDefined(), random, writeSize));
    assertEquals(List.of(5363, 1595734774), signature(Chunking.contentDefined(1024, 4096, 16384), random, writeSize));
    assertEquals(List.of(4898, -145873582), signature(Chunking.contentDefined(4096, 4096, 65536), random, writeSize));
  }

  @ParameterizedTest
  @ValueSource(ints = {1000, 300_000})
  void chunksJoinToTheInputAndAtBoundaryTellsWhenNothingIsBuffered(int writeSize) {
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    Chunker chunker = new Chunker(Chunking.contentDefined(), b -> joined.write(b, 1, b.length - 1));
    assertTrue(chunker.atBoundary());
    for (int off = 0; off < DATA.length; off += writeSize) {
      chunker.write(DATA, off, Math.min(writeSize, DATA.length - off));
    }
    assertFalse(chunker.atBoundary(), "the tail is buffered until finish");
    chunker.finish();
    assertTrue(chunker.atBoundary());
    assertArrayEquals(DATA, joined.toByteArray());
  }

  private static List<Integer> signature(Chunking c, int writeSize) {
    return signature(c, DATA, writeSize);
  }

  private static List<Integer> signature(Chunking c, byte[] data, int writeSize) {
    List<Integer> lengths = chunks(c, data, writeSize, data.length);
    return List.of(lengths.size(), lengths.hashCode());
  }

  private static List<Integer> chunks(Chunking c, int writeSize, int size) {
    return chunks(c, DATA, writeSize, size);
  }

  /** The chunks' lengths; fails unless each chunk is framed (one free byte in front) and their bytes join to data. */
  private static List<Integer> chunks(Chunking c, byte[] data, int writeSize, int size) {
    List<Integer> lengths = new ArrayList<>();
    int[] at = {0};
    Chunker chunker = new Chunker(c, b -> {
      assertEquals(0, b[0], "the free byte in front of the chunk at " + at[0]);
      int n = b.length - 1;
      assertEquals(-1, Arrays.mismatch(b, 1, b.length, data, at[0], at[0] + n), "chunk at " + at[0]);
      at[0] += n;
      lengths.add(n);
    });
    for (int off = 0; off < size; off += writeSize) {
      chunker.write(data, off, Math.min(writeSize, size - off));
    }
    chunker.finish();
    assertEquals(size, at[0]);
    return lengths;
  }

  /**
   * The chunking rule written plainly over the whole input: a chunk ends at the first content boundary
   * after its minimum in its first maximum bytes, else there; the tail is cut the same way.
   */
  private static List<Integer> reference(Chunking c, int size) {
    List<Integer> lengths = new ArrayList<>();
    for (int pos = 0; pos < size; ) {
      int end = Math.min(size - pos, c.max());
      int length = c.kind() == Chunking.Kind.FIXED || end <= c.min() ? end : boundary(c, pos, end);
      lengths.add(length);
      pos += length;
    }
    return lengths;
  }

  private static int boundary(Chunking c, int pos, int end) {
    List<Integer> found = new ArrayList<>();
    // Chunker's own scan, run on a copy so that only the rule, not the buffering, is shared.
    byte[] window = Arrays.copyOfRange(DATA, pos, pos + end);
    Chunker one = new Chunker(c, b -> found.add(b.length - 1));
    one.write(window, 0, window.length);
    one.finish();
    return found.get(0);
  }
}
