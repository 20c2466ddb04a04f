package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changed-block tracking of a LUN through the storage's snapshot diff, on a tgt gateway over Ceph RBD: the second
 * capture reads only the ranges {@code rbd diff} reports changed since the first's snapshot, restores bit-identical,
 * and every case where that diff is not proven (its base deleted, the parent checkpoint deleted) reads the LUN
 * whole, says why, and restores bit-identical too.
 */
class SnapshotDiffIT {
  static final long SIZE = 128L << 20;
  static final int CHUNK = 256 << 10;
  static final Pattern READ = Pattern.compile("LUN read (\\d+) of (\\d+) bytes");

  @TempDir
  static Path dir;
  static TgtRbdGateway gateway;
  static String image;
  static Resource lun;

  @BeforeAll
  static void start() throws Exception {
    gateway = new TgtRbdGateway(dir);
    image = "diff-" + ProcessHandle.current().pid();
    lun = gateway.randomLun(image, SIZE, 5);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static String note(MemberCheckpoint m, String containing) {
    return m.notes().stream().filter(n -> n.contains(containing)).findFirst()
        .orElseThrow(() -> new AssertionError("no note with '" + containing + "' in " + m.notes()));
  }

  static MemberCheckpoint member(Checkpoint cp) {
    return cp.member("lun").orElseThrow();
  }

  /**
   * Rewrites a known ~1% of the LUN through the target: scattered 4 KiB blocks and one contiguous 512 KiB run.
   * Returns the 4 KiB blocks written, by index.
   */
  static TreeSet<Long> rewriteOnePercent(long seed) throws Exception {
    Random random = new Random(seed);
    TreeSet<Long> blocks = new TreeSet<>();
    try (IscsiSession s = LunSpec.of(lun).connect()) {
      byte[] block = new byte[4096];
      for (int i = 0; i < 48; i++) {
        long at = random.nextLong(SIZE / block.length) * block.length;
        random.nextBytes(block);
        s.write(at / s.blockSize(), ByteBuffer.wrap(block));
        blocks.add(at / block.length);
      }
      byte[] run = new byte[512 << 10];
      random.nextBytes(run);
      long at = SIZE / 3 / 4096 * 4096 + 4096; // not on the chunk grid: spans three chunks
      s.write(at / s.blockSize(), ByteBuffer.wrap(run));
      for (long b = at / 4096; b < (at + run.length) / 4096; b++) {
        blocks.add(b);
      }
    }
    return blocks;
  }

  static long timed(long[] nanos, Runnable r) {
    long t = System.nanoTime();
    r.run();
    nanos[0] = System.nanoTime() - t;
    return nanos[0];
  }

  /** Milliseconds of each phase of a checkpoint, from the engine's events (a phase without a member: the group's). */
  static String phases(List<LencapEvent.PhaseChanged> events, String checkpointId) {
    Map<String, Instant> started = new HashMap<>();
    StringBuilder out = new StringBuilder();
    for (LencapEvent.PhaseChanged e : events) {
      if (!e.checkpointId().equals(checkpointId)) {
        continue;
      }
      String key = e.phase() + (e.memberId() == null ? "" : "/" + e.memberId());
      if (e.status() == LencapEvent.Status.STARTED) {
        started.put(key, e.at());
      } else if (started.containsKey(key)) {
        out.append(' ').append(key).append('=').append(Duration.between(started.get(key), e.at()).toMillis());
      }
    }
    return out.toString().trim();
  }

  @Test
  void theSecondCaptureReadsOnlyWhatChangedAndEachUnprovenDiffReadsWhole() throws Exception {
    Encapsulation job = Encapsulation.builder("rbd-diff").resource(lun).build();
    List<LencapEvent.PhaseChanged> events = new CopyOnWriteArrayList<>();
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store")).listener(e -> {
      if (e instanceof LencapEvent.PhaseChanged p) {
        events.add(p);
      }
    }).build()) {
      long[] t1 = {0};
      Checkpoint[] cp = new Checkpoint[1];
      timed(t1, () -> cp[0] = lencap.capture(job).join());
      Checkpoint first = cp[0];
      assertEquals("storage-snapshot", member(first).method());
      assertTrue(note(member(first), "LUN read whole").contains("no parent checkpoint"), member(first).notes()
          .toString());
      assertEquals(List.of(StorageSnapshot.imageName(first.id())), gateway.snapshots(image),
          "the first capture's snapshot is kept for the next one");

      TreeSet<Long> changed = rewriteOnePercent(1);
      String atSecondCut = IscsiLunIT.hash(lun);
      long[] t2 = {0};
      timed(t2, () -> cp[0] = lencap.capture(job).join());
      Checkpoint second = cp[0];
      Matcher read = READ.matcher(note(member(second), "LUN read "));
      assertTrue(read.find(), member(second).notes().toString());
      long bytesRead = Long.parseLong(read.group(1));
      long chunks = changed.stream().map(b -> b * 4096 / CHUNK).distinct().count();
      System.out.printf("LUN of %d MiB, %d blocks of 4 KiB in %d chunks of %d KiB changed: first capture read %d "
          + "bytes in %d ms, second read %d bytes (%.2f%%) in %d ms (%.2f of the first's time), stored %d bytes%n",
          SIZE >> 20, changed.size(), chunks, CHUNK >> 10, SIZE, t1[0] / 1_000_000, bytesRead, 100.0 * bytesRead / SIZE,
          t2[0] / 1_000_000, (double) t2[0] / t1[0], second.storedBytes());
      System.out.println("first capture's phases (ms): " + phases(events, first.id()));
      System.out.println("second capture's phases (ms): " + phases(events, second.id()));
      assertEquals(changed.size() * 4096L, bytesRead, "exactly the 4 KiB blocks written, not their chunks: "
          + member(second).notes());
      assertEquals(List.of(StorageSnapshot.imageName(second.id())), gateway.snapshots(image),
          "the first snapshot was deleted once the second capture committed");

      StorageSnapshotIT.overwriteEnds(lun, SIZE, 9); // not the state of the cut any more: the restore writes it back
      assertNotEquals(atSecondCut, IscsiLunIT.hash(lun));
      lencap.restore(job, second.id()).join();
      assertEquals(atSecondCut, IscsiLunIT.hash(lun), "the diff capture restores bit-identical to its cut");

      // Fallback: the base snapshot deleted behind Lencap's back (an administrator, a storage-side retention).
      new RbdSnapshots().delete(lun, StorageSnapshot.imageName(second.id()));
      rewriteOnePercent(2);
      String atThirdCut = IscsiLunIT.hash(lun);
      Checkpoint third = lencap.capture(job).join();
      assertTrue(note(member(third), "LUN read whole (" + SIZE + " bytes)").contains("cannot tell what changed since "
          + "snapshot " + StorageSnapshot.imageName(second.id())), member(third).notes().toString());

      // Fallback: the parent checkpoint deleted. The next capture's parent is the one before, whose snapshot went
      // when its successor committed: read whole, never a diff against a checkpoint that is not the parent.
      rewriteOnePercent(3);
      Checkpoint fourth = lencap.capture(job).join();
      assertTrue(note(member(fourth), "LUN read ").contains("the rest is the parent's"), member(fourth).notes()
          .toString());
      lencap.delete(job.name(), fourth.id()).join();
      rewriteOnePercent(4);
      String atFifthCut = IscsiLunIT.hash(lun);
      Checkpoint fifth = lencap.capture(job).join();
      assertTrue(note(member(fifth), "LUN read whole (" + SIZE + " bytes)").contains("cannot tell what changed "
          + "since snapshot " + StorageSnapshot.imageName(third.id())), member(fifth).notes().toString());

      lencap.restore(job, third.id()).join();
      assertEquals(atThirdCut, IscsiLunIT.hash(lun), "the whole read after a deleted base restores bit-identical");
      lencap.restore(job, fifth.id()).join();
      assertEquals(atFifthCut, IscsiLunIT.hash(lun), "the whole read after a deleted parent restores bit-identical");
    }
  }
}
