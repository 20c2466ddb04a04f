package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our initiator against jSCSI's in-process target: login, capacity, pipelined reads, writes, missing LUN. */
class IscsiSessionTest {

  static final long SIZE = 8L << 20;

  @TempDir
  static Path dir;
  static JscsiTarget target;

  @BeforeAll
  static void start() throws Exception {
    target = new JscsiTarget(dir.resolve("lun.img"), SIZE);
  }

  @AfterAll
  static void stop() throws Exception {
    target.close();
  }

  private static IscsiSession open(int lun) throws IscsiException {
    return IscsiSession.open(LunAddress.parse(target.locator(lun)), Optional.empty(), IscsiSession.Options.defaults());
  }

  @Test
  void readsTheExactCapacity() throws Exception {
    try (IscsiSession s = open(0)) {
      assertEquals(512, s.blockSize());
      assertEquals(SIZE, s.sizeBytes());
    }
  }

  @Test
  void writesAndStreamsBackTheSameBytes() throws Exception {
    byte[] data = new byte[(int) SIZE];
    new Random(42).nextBytes(data);
    try (IscsiSession s = open(0)) {
      for (int off = 0; off < data.length; off += 1 << 20) {
        s.write(off / 512, ByteBuffer.wrap(data, off, 1 << 20));
      }
      byte[] back = new byte[data.length];
      long[] expectedOffset = {0};
      s.stream(0, SIZE, 256 * 1024, (offset, piece) -> {
        assertEquals(expectedOffset[0], offset, "pieces arrive in order");
        int n = piece.remaining();
        piece.get(back, (int) offset, n);
        expectedOffset[0] += n;
      });
      assertArrayEquals(data, back);
    }
    assertArrayEquals(data, Files.readAllBytes(dir.resolve("lun.img")), "the target's file holds the writes");
  }

  @Test
  void writesFromInsideAStreamLandWhileReadsAreInFlight() throws Exception {
    try (IscsiSession s = open(0)) {
      byte[] marker = new byte[64 * 1024];
      java.util.Arrays.fill(marker, (byte) 7);
      s.stream(0, 1 << 20, 64 * 1024, (offset, piece) -> s.write(offset / 512, ByteBuffer.wrap(marker)));
      ByteBuffer back = ByteBuffer.allocate(1 << 20);
      s.read(0, back);
      for (byte b : back.array()) {
        assertEquals(7, b);
      }
    }
  }

  @Test
  void piecesOfOneReadEachStartAtPositionZero() throws Exception {
    // A READ covers up to 1 MiB; the sink must still get separate pieces of pieceBytes, indexed from 0.
    try (IscsiSession s = open(0)) {
      long[] expectedOffset = {0};
      s.stream(0, 3 << 20, 64 * 1024, (offset, piece) -> {
        assertEquals(expectedOffset[0], offset);
        assertEquals(0, piece.position());
        assertEquals(64 * 1024, piece.remaining());
        expectedOffset[0] += piece.remaining();
      });
      assertEquals(3 << 20, expectedOffset[0]);
    }
  }

  @Test
  void aMissingLunIsNamed() {
    IscsiException e = assertThrows(IscsiException.class, () -> open(3));
    assertEquals(IscsiException.Reason.NOT_FOUND, e.reason());
    assertTrue(e.getMessage().contains("LUN 3"), e.getMessage());
  }

  @Test
  void refusesUnalignedRanges() throws Exception {
    try (IscsiSession s = open(0)) {
      assertThrows(IllegalArgumentException.class, () -> s.read(0, ByteBuffer.allocate(100)));
      assertThrows(IllegalArgumentException.class, () -> s.read(SIZE / 512, ByteBuffer.allocate(512)));
    }
  }
}
