package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkDeltaTest {
  static final String BASE = "ab".repeat(32);

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void holdsOnlyTheChangedBlocksAndRebuildsTheChunk() throws Exception {
    byte[] base = random(256 << 10, 1);
    byte[] content = base.clone();
    content[5 * 4096 + 17] ^= 1;
    content[40 * 4096] ^= 1;
    content[content.length - 1] ^= 1;
    byte[] delta = ChunkDelta.encode(BASE, base, content).orElseThrow();
    assertTrue(delta.length < 3 * 4096 + 200, "delta of 3 blocks holds " + delta.length + " bytes");
    ChunkDelta.Parsed parsed = ChunkDelta.parse(delta, content.length);
    assertEquals(BASE, parsed.baseId());
    assertArrayEquals(content, parsed.apply(base));
  }

  @Test
  void readsAContentSliceAndAReadOnlyBaseInPlace() throws Exception {
    byte[] base = random(64 * 4096, 4);
    byte[] framed = new byte[base.length + 1]; // as the writer holds a chunk: one byte of frame before it
    System.arraycopy(base, 0, framed, 1, base.length);
    framed[1 + 7 * 4096 + 3] ^= 1;
    byte[] delta = ChunkDelta.encode(BASE, ByteBuffer.wrap(base).asReadOnlyBuffer(), framed, 1, base.length)
        .orElseThrow();
    assertArrayEquals(Arrays.copyOfRange(framed, 1, framed.length), ChunkDelta.parse(delta, base.length).apply(base));
    assertEquals(Arrays.toString(ChunkDelta.encode(BASE, base, Arrays.copyOfRange(framed, 1, framed.length))
        .orElseThrow()), Arrays.toString(delta), "the same delta as from a copy");
  }

  @Test
  void handlesAShortLastBlock() throws Exception {
    byte[] base = random(10 * 4096 + 123, 2);
    byte[] content = base.clone();
    content[10 * 4096 + 100] ^= 1;
    byte[] delta = ChunkDelta.encode(BASE, base, content).orElseThrow();
    assertArrayEquals(content, ChunkDelta.parse(delta, content.length).apply(base));
  }

  @Test
  void refusesWhenMoreThanAQuarterOfTheBlocksChangedOrNoneDid() {
    byte[] base = random(64 * 4096, 3);
    byte[] content = base.clone();
    for (int b = 0; b < 17; b++) {
      content[b * 4096 * 3 % content.length + b] ^= 1;
    }
    assertTrue(ChunkDelta.encode(BASE, base, content).isEmpty(), "17 of 64 blocks changed: whole chunk");
    byte[] sixteen = base.clone();
    for (int b = 0; b < 16; b++) {
      sixteen[b * 4 * 4096] ^= 1;
    }
    assertTrue(ChunkDelta.encode(BASE, base, sixteen).isPresent(), "16 of 64 blocks changed: a delta");
    assertTrue(ChunkDelta.encode(BASE, base, base.clone()).isEmpty(), "nothing changed");
    assertThrows(IllegalArgumentException.class, () -> ChunkDelta.encode(BASE, base, new byte[4096]));
  }

  @Test
  void refusesADamagedOrForeignDelta() throws Exception {
    byte[] base = random(64 * 4096, 4);
    byte[] content = base.clone();
    content[9] ^= 1;
    byte[] delta = ChunkDelta.encode(BASE, base, content).orElseThrow();
    assertThrows(ChunkCodec.UnreadableException.class, () -> ChunkDelta.parse(delta, content.length - 4096));
    assertThrows(ChunkCodec.UnreadableException.class,
        () -> ChunkDelta.parse(Arrays.copyOf(delta, delta.length - 1), content.length).apply(base));
    assertThrows(ChunkCodec.UnreadableException.class,
        () -> ChunkDelta.parse(Arrays.copyOf(delta, delta.length + 1), content.length).apply(base));
    assertThrows(ChunkCodec.UnreadableException.class, () -> ChunkDelta.parse(Arrays.copyOf(delta, 20), content.length));
    assertThrows(ChunkCodec.UnreadableException.class,
        () -> ChunkDelta.parse(delta, content.length).apply(new byte[4096]));
    byte[] notADelta = delta.clone();
    notADelta[0] ^= 1;
    assertThrows(ChunkCodec.UnreadableException.class, () -> ChunkDelta.parse(notADelta, content.length));
    assertTrue(ChunkDelta.maxRawSize(content.length) >= delta.length);
    byte[] shortId = ChunkDelta.encode("a", base, content).orElseThrow();
    assertThrows(ChunkCodec.UnreadableException.class, () -> ChunkDelta.parse(shortId, content.length));
  }
}
