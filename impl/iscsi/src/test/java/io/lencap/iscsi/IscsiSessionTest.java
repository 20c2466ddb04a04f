package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

  /** A session within {@link JscsiTarget#QUEUE_DEPTH}, for the tests that write through {@code write(ranges, ...)}. */
  private static IscsiSession openOneAtATime(int lun) throws IscsiException {
    IscsiSession.Options d = IscsiSession.Options.defaults();
    return IscsiSession.open(LunAddress.parse(target.locator(lun)), Optional.empty(),
        new IscsiSession.Options(d.initiatorName(), d.maxRecvDataSegmentLength(), d.maxBurstLength(), d.timeout(),
            JscsiTarget.QUEUE_DEPTH));
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
      assertThrows(IllegalArgumentException.class, () -> s.stream(List.of(new long[] {4096, 512},
          new long[] {0, 512}), 512, (o, d) -> {}), "ranges out of order");
      assertThrows(IllegalArgumentException.class, () -> s.stream(List.of(new long[] {SIZE - 512, 1024}), 512,
          (o, d) -> {}), "past the end");
    }
  }

  /** Short ranges, then long ones (a short READ's buffer is reused for a long one), empty ones, in order. */
  @Test
  void streamsScatteredRangesInOrder() throws Exception {
    byte[] data = new byte[(int) SIZE];
    new Random(43).nextBytes(data);
    int piece = 256 << 10;
    List<long[]> ranges = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ranges.add(new long[] {(long) i * 2 * piece, piece});
    }
    ranges.add(new long[] {20L * piece, 0});
    ranges.add(new long[] {20L * piece, 5L * piece});
    ranges.add(new long[] {26L * piece, SIZE - 26L * piece});
    ranges.add(new long[] {SIZE, 0});
    try (IscsiSession s = open(0)) {
      for (int off = 0; off < data.length; off += 1 << 20) {
        s.write(off / 512, ByteBuffer.wrap(data, off, 1 << 20));
      }
      List<Long> offsets = new ArrayList<>();
      s.stream(ranges, piece, (offset, d) -> {
        byte[] got = new byte[d.remaining()];
        d.get(got);
        assertArrayEquals(Arrays.copyOfRange(data, (int) offset, (int) offset + got.length), got, "at " + offset);
        offsets.add(offset);
      });
      List<Long> expected = new ArrayList<>();
      for (long[] r : ranges) {
        for (long at = r[0]; at < r[0] + r[1]; at += piece) {
          expected.add(at);
        }
      }
      assertEquals(expected, offsets);
    }
  }

  /**
   * Scattered ranges, some adjacent (sharing a WRITE): each range's bytes land where it says, the bytes between
   * them are untouched, and the source is asked for each range in order. With commands in flight against istgt:
   * {@code IscsiLunIT}.
   */
  @Test
  void writesScatteredRangesWithCommandsInFlight() throws Exception {
    byte[] before = new byte[(int) SIZE];
    new Random(44).nextBytes(before);
    byte[] after = new byte[(int) SIZE];
    new Random(45).nextBytes(after);
    int chunk = 256 << 10;
    List<long[]> ranges = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      ranges.add(new long[] {(long) i * 2 * chunk, chunk}); // apart
    }
    for (long at = 12L * chunk; at < SIZE - chunk; at += chunk) {
      ranges.add(new long[] {at, chunk}); // adjacent: several share one WRITE
    }
    ranges.add(new long[] {SIZE - 4096, 0});
    ranges.add(new long[] {SIZE - 4096, 4096});
    byte[] expected = before.clone();
    for (long[] r : ranges) {
      System.arraycopy(after, (int) r[0], expected, (int) r[0], (int) r[1]);
    }
    try (IscsiSession s = openOneAtATime(0)) {
      for (int off = 0; off < before.length; off += 1 << 20) {
        s.write(off / 512, ByteBuffer.wrap(before, off, 1 << 20));
      }
      List<Long> asked = new ArrayList<>();
      s.write(ranges, (offset, d) -> {
        asked.add(offset);
        d.put(after, (int) offset, d.remaining());
      });
      assertEquals(ranges.stream().filter(r -> r[1] > 0).map(r -> r[0]).toList(), asked);
      byte[] back = new byte[before.length];
      s.stream(0, SIZE, 1 << 20, (offset, piece) -> piece.get(back, (int) offset, piece.remaining()));
      assertArrayEquals(expected, back);
    }
  }

  @Test
  void aSourceThatLeavesBytesUnfilledFailsTheWrite() throws Exception {
    try (IscsiSession s = open(0)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> s.write(List.of(new long[] {0, 4096}), (offset, d) -> d.put(new byte[512])));
      assertTrue(e.getMessage().contains("3584 bytes at 0 unfilled"), e.getMessage());
      assertFalse(s.reusable(), "a failed call leaves the session faulted");
    }
  }

  @Test
  void writeRunsJoinAdjacentRangesUpToTheLimit() {
    List<List<long[]>> runs = IscsiSession.writeRuns(List.of(new long[] {0, 512}, new long[] {512, 512},
        new long[] {1024, 512}, new long[] {4096, 512}, new long[] {8192, 2560}), 1024);
    assertEquals("[[0+512, 512+512], [1024+512], [4096+512], [8192+1024], [9216+1024], [10240+512]]",
        runs.stream().map(run -> run.stream().map(r -> r[0] + "+" + r[1]).toList()).toList().toString());
  }
}
