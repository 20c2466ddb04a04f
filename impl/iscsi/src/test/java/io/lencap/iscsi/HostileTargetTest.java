package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our session against a scripted target that lies about lengths, negotiates absurd values or stops reading. Each
 * misbehaviour must fail with an {@link IscsiException} naming the target; none may store a byte that was not read
 * or hold a thread.
 */
class HostileTargetTest {

  static final Duration FAST = Duration.ofSeconds(1);
  ScriptedTarget target;

  @AfterEach
  void stop() throws IOException {
    if (target != null) {
      target.close();
    }
  }

  IscsiSession open(ScriptedTarget t, Duration timeout) throws IscsiException {
    IscsiSession.Options d = IscsiSession.Options.defaults();
    return IscsiSession.open(t.address(0), Optional.empty(),
      new IscsiSession.Options(d.initiatorName(), d.maxRecvDataSegmentLength(), d.maxBurstLength(), timeout, 8));
  }

  /** Streams 16 MiB (16 READs over 8 reused buffers) and returns the offsets of pieces whose bytes were wrong. */
  static List<Long> streamAndCheck(IscsiSession s) throws IOException {
    List<Long> wrong = new ArrayList<>();
    s.stream(0, 16L << 20, 256 * 1024, (offset, piece) -> {
      byte[] got = new byte[piece.remaining()];
      piece.get(got);
      if (!java.util.Arrays.equals(ScriptedTarget.pattern(offset, got.length), got)) {
        wrong.add(offset);
      }
    });
    return wrong;
  }

  @Test
  void aShortReadReportedGoodFailsNamingTargetAndLbaAndDeliversNoStaleBytes() throws Exception {
    long shortLba = (8L << 20) / 512; // the 9th READ: its buffer held the 1st READ's bytes
    target = new ScriptedTarget() {
      @Override
      protected void onRead(Connection c, Command cmd, long lba, int bytes) throws IOException {
        if (lba == shortLba) {
          super.onRead(c, cmd, lba, bytes / 2); // GOOD after half the bytes, and no residual either
        } else {
          super.onRead(c, cmd, lba, bytes);
        }
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      List<Long> wrong = new ArrayList<>();
      IscsiException e = assertThrows(IscsiException.class, () -> wrong.addAll(streamAndCheck(s)));
      assertEquals(Reason.PROTOCOL, e.reason());
      assertTrue(e.getMessage().contains(ScriptedTarget.IQN) && e.getMessage().contains("LBA " + shortLba)
        && e.getMessage().contains("524288 of 1048576"), e.getMessage());
      assertEquals(List.of(), wrong, "no piece with stale bytes reached the sink");
    }
    assertNull(target.failure());
  }

  @Test
  void aReadWhoseResponseReportsAnUnderflowIsRefused() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected void onRead(Connection c, Command cmd, long lba, int bytes) throws IOException {
        c.dataIn(cmd, 0, ScriptedTarget.pattern(lba * BLOCK, bytes), false, GOOD, 0);
        c.response(cmd, GOOD, null, 4096); // all bytes sent, yet the target says 4096 were not
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      IscsiException e = assertThrows(IscsiException.class, () -> s.read(0, ByteBuffer.allocate(64 * 1024)));
      assertTrue(e.getMessage().contains("residual underflow 4096") && e.getMessage().contains("LBA 0"),
        e.getMessage());
    }
  }

  @Test
  void dataInThatSkipsBytesIsRefused() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected void onRead(Connection c, Command cmd, long lba, int bytes) throws IOException {
        c.dataIn(cmd, 0, new byte[512], false, GOOD, 0);
        c.dataIn(cmd, bytes - 512, new byte[512], true, GOOD, 0); // the middle never sent
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      IscsiException e = assertThrows(IscsiException.class, () -> s.read(8, ByteBuffer.allocate(64 * 1024)));
      assertEquals(Reason.PROTOCOL, e.reason());
      assertTrue(e.getMessage().contains("buffer offset 65024") && e.getMessage().contains("LBA 8"),
        e.getMessage());
    }
  }

  @Test
  void aDataInOffsetThatOverflowsIsAProtocolError() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected void onRead(Connection c, Command cmd, long lba, int bytes) throws IOException {
        c.dataIn(cmd, 0x7ffffff0, new byte[512], true, GOOD, 0); // 0x7ffffff0 + 512 wraps in int arithmetic
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      IscsiException e = assertThrows(IscsiException.class, () -> s.read(0, ByteBuffer.allocate(4096)));
      assertEquals(Reason.PROTOCOL, e.reason());
    }
  }

  @Test
  void anR2tRangeThatOverflowsIsAProtocolError() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected void onWrite(Connection c, Command cmd, long lba, int bytes) throws IOException {
        c.r2t(cmd, 0x7fffff00, 0x200);
        stall();
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      IscsiException e = assertThrows(IscsiException.class, () -> s.write(0, ByteBuffer.allocate(4096)));
      assertEquals(Reason.PROTOCOL, e.reason());
      assertTrue(e.getMessage().contains("R2T"), e.getMessage());
    }
  }

  @ParameterizedTest
  @CsvSource({
    "MaxRecvDataSegmentLength, 0", "MaxRecvDataSegmentLength, -1", "MaxRecvDataSegmentLength, 2147483648",
    "MaxRecvDataSegmentLength, 16777216", "MaxRecvDataSegmentLength, lots", "MaxBurstLength, 0",
    "MaxBurstLength, 1048576", "FirstBurstLength, 1048576", "ErrorRecoveryLevel, 2", "HeaderDigest, CRC32C",
    "DataPDUInOrder, No", "MaxOutstandingR2T, 0"})
  void negotiatedValuesOutsideTheRfcOrOurOfferAreRefused(String key, String value) throws Exception {
    target = new ScriptedTarget();
    target.operational.put(key, value);
    IscsiException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
      () -> assertThrows(IscsiException.class, () -> open(target, FAST).close()));
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains(key + "=" + value) && e.getMessage().contains(ScriptedTarget.IQN),
      e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"33554432, 32 MiB", "1073741824, 1 GiB", "-2147483648, 2^31 read as a negative int"})
  void aBlockSizeNoDiskHasIsRefusedBeforeAnyBufferIsSizedByIt(int blockSize, String what) throws Exception {
    target = new ScriptedTarget();
    target.reportedBlockSize = blockSize;
    IscsiException e = assertThrows(IscsiException.class, () -> open(target, FAST), what);
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains("block size " + blockSize) && e.getMessage().contains(ScriptedTarget.IQN),
      e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"0, the last LBA 2^64 - 1: no block", "-9223372036854775808, 2^63 blocks: no byte count in a long",
    "36028797018963968, 2^55 blocks of 512 bytes: 2^64 bytes"})
  void aCapacityWhoseByteCountOverflowsIsRefused(long blocks, String what) throws Exception {
    target = new ScriptedTarget();
    target.blocks = blocks;
    IscsiException e = assertThrows(IscsiException.class, () -> open(target, FAST), what);
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains("last LBA " + Long.toUnsignedString(blocks - 1))
      && e.getMessage().contains(ScriptedTarget.IQN), e.getMessage());
  }

  @Test
  void aCapacityBeyondReadCapacity10IsReadWithReadCapacity16() throws Exception {
    target = new ScriptedTarget();
    target.blocks = 1L << 33; // 4 TiB of 512-byte blocks
    try (IscsiSession s = open(target, FAST)) {
      assertEquals(1L << 33, s.blockCount());
      assertEquals(1L << 42, s.sizeBytes());
    }
  }

  @Test
  void aTargetThatKeepsItsCommandWindowClosedFailsTheCallAsUnavailable() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected int maxCmdSn(int expCmdSn) {
        return 3; // CmdSN 0..2 open the session, 3 is one READ: the window never opens further
      }
    };
    try (IscsiSession s = open(target, FAST)) {
      s.read(0, ByteBuffer.allocate(4096));
      IscsiException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
        () -> assertThrows(IscsiException.class, () -> s.read(8, ByteBuffer.allocate(4096))));
      assertEquals(Reason.UNAVAILABLE, e.reason());
      assertTrue(e.getMessage().contains("did not answer within") && e.getMessage().contains(ScriptedTarget.IQN),
        e.getMessage());
    }
  }

  @Test
  void theSmallestAllowedSegmentLengthStillWrites() throws Exception {
    target = new ScriptedTarget();
    target.operational.put("MaxRecvDataSegmentLength", "512");
    try (IscsiSession s = open(target, FAST)) {
      assertTimeoutPreemptively(Duration.ofSeconds(20), () -> s.write(0, ByteBuffer.allocate(64 * 1024)));
    }
    assertNull(target.failure());
  }

  /** A target that asks for all the data, then never reads again. */
  static ScriptedTarget stallingWrites() throws IOException {
    return new ScriptedTarget() {
      @Override
      protected void onWrite(Connection c, Command cmd, long lba, int bytes) throws IOException {
        for (int at = 0; at < bytes; at += 256 * 1024) {
          c.r2t(cmd, at, Math.min(256 * 1024, bytes - at));
        }
        stall();
      }
    };
  }

  @Test
  void aWriteToATargetThatStopsReadingTimesOut() throws Exception {
    target = stallingWrites();
    try (IscsiSession s = open(target, FAST)) {
      IscsiException e = assertTimeoutPreemptively(Duration.ofSeconds(30),
        () -> assertThrows(IscsiException.class, () -> s.write(0, ByteBuffer.allocate(16 << 20))));
      assertEquals(Reason.UNAVAILABLE, e.reason());
      assertTrue(e.getMessage().contains("stopped taking data"), e.getMessage());
    }
  }

  @Test
  void closeWhileAWriteIsStuckDropsTheConnectionAtOnce() throws Exception {
    target = stallingWrites();
    IscsiSession s = open(target, Duration.ofSeconds(120)); // the write's own limit is far away
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try {
        s.write(0, ByteBuffer.allocate(16 << 20));
      } catch (Throwable t) {
        outcome.set(t);
      }
    }, "stuck-writer");
    writer.start();
    awaitBlockedInSocketWrite(writer);
    assertTimeoutPreemptively(Duration.ofSeconds(5), s::close, "close does not wait for the stuck write");
    writer.join(Duration.ofSeconds(30).toMillis());
    assertFalse(writer.isAlive(), "the stuck write ended when the connection was dropped");
    assertTrue(outcome.get() instanceof IscsiException e && e.reason() == Reason.UNAVAILABLE,
      String.valueOf(outcome.get()));
  }

  /** Polls the thread's stack until it is inside a socket write (the target reads nothing, so it stays there). */
  static void awaitBlockedInSocketWrite(Thread t) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      for (StackTraceElement f : t.getStackTrace()) {
        if (f.getClassName().contains("NioSocketImpl") && f.getMethodName().equals("implWrite")) {
          return;
        }
      }
      Thread.onSpinWait();
      Thread.sleep(5); // polling another thread's state, not standing in for synchronization
    }
    throw new AssertionError("the writer never blocked in a socket write: " + t.getState());
  }

  @Test
  void aControllerLunIsNamedWithTheLunsToUse() throws Exception {
    target = new ScriptedTarget() {
      @Override
      protected List<Integer> luns() {
        return List.of(0, 1, 2);
      }

      @Override
      protected int deviceType(int lun) {
        return lun == 0 ? 0x0c : 0; // tgt: LUN 0 is its controller
      }
    };
    IscsiException e = assertThrows(IscsiException.class, () -> open(target, FAST));
    assertEquals(Reason.NOT_FOUND, e.reason(), e.getMessage());
    assertTrue(e.getMessage().contains("LUN 0 of iSCSI target " + ScriptedTarget.IQN)
      && e.getMessage().contains("controller") && e.getMessage().contains("use one of its disk LUNs [1, 2]"),
      e.getMessage());
    assertFalse(e.getMessage().contains("CHECK_CONDITION"), e.getMessage());
    try (IscsiSession s = IscsiSession.open(target.address(1), Optional.empty(), IscsiSession.Options.defaults())) {
      ByteBuffer b = ByteBuffer.allocate(4096);
      s.read(3, b);
      assertArrayEquals(ScriptedTarget.pattern(3 * 512, 4096), b.array());
    }
  }
}
