package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.LencapListener;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code StorageSnapshot} on a target that can snapshot: a tgt gateway over Ceph RBD. The cut takes an RBD
 * snapshot, the group resumes, the transfer reads the snapshot served as another LUN, and release keeps it for the
 * next capture's diff ({@link SnapshotDiffIT}), or deletes it when the capture aborts or tracks nothing.
 */
class StorageSnapshotIT {
  static final long SIZE = 64L << 20;

  @TempDir
  static Path dir;
  static TgtRbdGateway gateway;
  static String image;
  static Resource lun;

  @BeforeAll
  static void start() throws Exception {
    gateway = new TgtRbdGateway(dir);
    image = "it-" + ProcessHandle.current().pid();
    lun = gateway.randomLun(image, SIZE, 41);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /** A listener that acts once, when the LUN's transfer starts: after the group resumed, before the first read. */
  static LencapListener atTransferStart(ThrowingRunnable action) {
    return e -> {
      if (e instanceof LencapEvent.PhaseChanged p && "lun".equals(p.memberId()) && p.phase() == Phase.TRANSFER
          && p.status() == Status.STARTED) {
        try {
          action.run();
        } catch (Exception ex) {
          throw new IllegalStateException(ex);
        }
      }
    };
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  static void overwriteEnds(long seed) throws Exception {
    overwriteEnds(lun, SIZE, seed);
  }

  static void overwriteEnds(Resource lun, long size, long seed) throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(seed).nextBytes(data);
    try (IscsiSession s = LunSpec.of(lun).connect()) {
      s.write(0, ByteBuffer.wrap(data));
      s.write((size - data.length) / s.blockSize(), ByteBuffer.wrap(data));
    }
  }

  @Test
  void theTransferReadsTheSnapshotWhileTheLunTakesNewWrites() throws Exception {
    String atCut = IscsiLunIT.hash(lun);
    Encapsulation job = Encapsulation.builder("rbd-job").resource(lun).build();
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store"))
        .listener(atTransferStart(() -> overwriteEnds(42))).build()) {
      Checkpoint cp = lencap.capture(job).join();
      MemberCheckpoint member = cp.member("lun").orElseThrow();
      System.out.printf("rbd snapshot cut: pause %s, stored %d bytes%n", member.pause(), cp.storedBytes());
      assertEquals("storage-snapshot", member.method());
      String kept = StorageSnapshot.imageName(cp.id());
      assertEquals(List.of(kept), gateway.snapshots(image), "release kept the snapshot for the next capture's diff");
      new RbdSnapshots().delete(lun, kept); // what deleting the group leaves to the administrator (README)
      assertFalse(gateway.show().contains("@lencap-"), "delete stopped serving the snapshot:\n" + gateway.show());
      String afterWrites = IscsiLunIT.hash(lun);
      assertNotEquals(atCut, afterWrites, "the writes after resume reached the LUN");

      lencap.restore(job, cp.id()).join();
      assertEquals(atCut, IscsiLunIT.hash(lun), "the checkpoint holds the LUN as it was at the cut");
    }
  }

  @Test
  void aSnapshotLunLostMidCaptureFailsTheCaptureAndTheSnapshotIsDeleted() throws Exception {
    Encapsulation job = Encapsulation.builder("rbd-lost").resource(lun).build();
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store-lost")).listener(atTransferStart(() -> {
      int served = RbdSnapshots.servedAs(gateway.show(), TgtRbdGateway.POOL + "/" + image + "@"
          + gateway.snapshots(image).get(0)).orElseThrow();
      TgtRbdGateway.tgtadm(gateway.controlPort(), "--op", "delete", "--mode", "logicalunit", "--tid",
          "" + TgtRbdGateway.TID, "--lun", "" + served);
    })).build()) {
      CompletionException e = assertThrows(CompletionException.class, () -> lencap.capture(job).join());
      System.out.println("lost snapshot LUN: " + e.getCause());
      assertEquals(List.of(), lencap.checkpoints("rbd-lost").join(), "no partial checkpoint");
      assertEquals(List.of(), gateway.snapshots(image), "the RBD snapshot was deleted on abort");
    }
  }

  @Test
  void untrackedOrBlockingCapturesKeepNoSnapshot() throws Exception {
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store-none")).build()) {
      Resource untracked = lun.toBuilder().property(LunTracking.PROPERTY, "none").build();
      Checkpoint cp = lencap.capture(Encapsulation.builder("rbd-none").resource(untracked).build()).join();
      assertEquals("storage-snapshot", cp.member("lun").orElseThrow().method());
      assertTrue(gateway.snapshots(image).isEmpty(), "tracking=none keeps no snapshot");
    }
    Encapsulation job = Encapsulation.builder("rbd-blocking").resource(lun)
        .policy(ResiliencyPolicy.builder().mode(CaptureMode.BLOCKING).build()).build();
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store-blocking")).build()) {
      Checkpoint cp = lencap.capture(job).join();
      assertEquals("in-place-copy", cp.member("lun").orElseThrow().method());
      assertTrue(gateway.snapshots(image).isEmpty());
    }
  }
}
