package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import io.lencap.api.Secret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A chunk's stored size is how a store tells an intact chunk from a damaged one: an encoder that wrote
 * other bytes for the same content would make every chunk of an existing store look damaged and be written
 * again. So the encoding stays what earlier releases wrote ({@code Zstd.compress(raw, 1)} behind the format
 * byte), whichever thread encodes and however large the chunk.
 */
class ChunkCodecTest {
  private static final ChunkCodec CODEC = ChunkCodec.plain();
  private static final ChunkCodec SEALED =
      ChunkCodec.of(Optional.of(Secret.of(Base64.getEncoder().encodeToString(new byte[32]))));

  private static byte[] text(int size) {
    byte[] p = "lencap repetitive payload 0123456789 ".getBytes(StandardCharsets.US_ASCII);
    byte[] d = new byte[size];
    SplittableRandom r = new SplittableRandom(size);
    for (int i = 0; i < size; i++) {
      d[i] = i % 4096 < 64 ? (byte) r.nextInt(256) : p[i % p.length];
    }
    return d;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 100, 65536, 262144, 1 << 20, (1 << 20) + 1, 3 << 20})
  void encodesAsEarlierReleasesDid(int size) throws Exception {
    byte[] raw = text(size);
    byte[] packed = Zstd.compress(raw, 1);
    byte[] expected;
    if (packed.length < raw.length - raw.length / 32) {
      expected = new byte[packed.length + 1];
      expected[0] = ChunkCodec.ZSTD;
      System.arraycopy(packed, 0, expected, 1, packed.length);
    } else {
      expected = new byte[raw.length + 1];
      expected[0] = ChunkCodec.RAW;
      System.arraycopy(raw, 0, expected, 1, raw.length);
    }
    byte[] encoded = CODEC.encode("k", raw);
    assertArrayEquals(expected, encoded);
    assertArrayEquals(raw, CODEC.decode("k", encoded, size));
  }

  @ParameterizedTest
  @ValueSource(ints = {4096, 262144})
  void randomBytesAreStoredRaw(int size) throws Exception {
    byte[] raw = new byte[size];
    new SplittableRandom(3).nextBytes(raw);
    byte[] encoded = CODEC.encode("k", raw);
    assertEquals(ChunkCodec.RAW, encoded[0]);
    assertEquals(size + 1, encoded.length);
    assertArrayEquals(raw, CODEC.decode("k", encoded, size));
  }

  /**
   * A chunk as the chunker emits it, behind a free byte, encodes to the same bytes as the chunk alone; one that
   * stays raw is encoded in its own array (no copy). Sealed, it decodes to the chunk under its key.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 100, 65536, 262144, 1 << 20, (1 << 20) + 1})
  void aFramedChunkEncodesAsTheChunkAlone(int size) throws Exception {
    byte[] random = new byte[size];
    new SplittableRandom(size).nextBytes(random);
    for (byte[] raw : List.of(text(size), random)) {
      byte[] framed = new byte[size + 1];
      System.arraycopy(raw, 0, framed, 1, size);
      byte[] encoded = CODEC.encodeFramed("k", framed);
      assertArrayEquals(CODEC.encode("k", raw), encoded);
      if (encoded[0] == ChunkCodec.RAW) {
        assertSame(framed, encoded, "a raw chunk is written from its own array");
      }
      framed[0] = 0;
      byte[] sealed = SEALED.encodeFramed("k", framed);
      assertEquals(ChunkCodec.SEALED, sealed[0]);
      assertArrayEquals(raw, SEALED.decode("k", sealed, size));
      assertEquals(0, framed[0], "sealing leaves the chunk's array alone");
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {8})
  void threadsEncodingAtOnceDoNotMixTheirOutput(int threads) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(pool.submit(() -> {
          for (int i = 0; i < 50; i++) {
            byte[] raw = text(1000 + seed * 7919 + i * 104729);
            assertArrayEquals(raw, CODEC.decode("k", CODEC.encode("k", raw), raw.length));
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Zero chunks take a shortcut to their id: it must be the id hashing gives, plain and keyed, at any offset. */
  @ParameterizedTest
  @ValueSource(ints = {1, 4096, 65536, 65537, 262144, 1 << 20})
  void zeroChunksHaveTheIdsHashingGives(int size) throws Exception {
    byte[] zeros = new byte[size + 7];
    ChunkCodec keyed = ChunkCodec.of(Optional.of(Secret.of(Base64.getEncoder().encodeToString(new byte[32]))));
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(new byte[size])),
        CODEC.id(zeros, 7, size));
    for (ChunkCodec c : List.of(CODEC, keyed)) {
      assertEquals(c.digest(new byte[size], 0, size), c.id(zeros, 7, size));
      assertEquals(c.id(zeros, 7, size), c.id(zeros, 0, size), "the cached id is by length only");
      assertTrue(c.isZero(c.id(zeros, 7, size), size));
      assertFalse(c.isZero(c.id(zeros, 7, size), size + 1), "zeros of another length");
      byte[] one = new byte[size];
      one[size - 1] = 1;
      assertFalse(c.isZero(c.id(one, 0, size), size));
      zeros[7 + size - 1] = 1; // the last byte: the compare must reach it
      assertNotEquals(c.id(zeros, 0, size), c.id(zeros, 7, size));
      assertEquals(c.digest(zeros, 7, size), c.id(zeros, 7, size));
      zeros[7 + size - 1] = 0;
    }
  }
}
