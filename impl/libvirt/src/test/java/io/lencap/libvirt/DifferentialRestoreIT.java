package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Phase;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.HostCommand;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore in place onto a counter guest whose qcow2 disks still hold the dirty bitmap of a checkpoint in the store
 * writes only the blocks that can differ, on real libvirt + QEMU: 256 MiB of random data, 1% rewritten between two
 * captures and more after the second; the restore of the first writes under 3% of the disk, every byte of it is the
 * cut's again, and the guest goes on from the captured counter. The bitmaps are gone after it, so a restore that
 * follows goes whole and says why; the two are timed in the same run.
 */
class DifferentialRestoreIT {
  static final int DATA = ChangedBlocksIT.DATA;
  static final int BLOCK = 256 << 10;
  static final Pattern WROTE = Pattern.compile("disk vdb: wrote (\\d+) of (\\d+) bytes \\([^)]*\\) in place in (\\d+) ms"
      + "[^;]* since checkpoint (\\S+) or whose chunks differ from it \\((\\d+)\\)");
  static final Pattern WHOLE = Pattern.compile("disk vdb: restored whole \\((\\d+) bytes into a new image, (\\d+) ms\\): "
      + "([^;]*)");

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  /** The notes of each restore of member {@code vm}, as its RESTORE phase completed. */
  static final class RestoreNotes implements LencapListener {
    final List<String> details = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(LencapEvent event) {
      if (event instanceof LencapEvent.PhaseChanged p && p.phase() == Phase.RESTORE && "vm".equals(p.memberId())
          && p.status() == LencapEvent.Status.COMPLETED) {
        details.add(String.valueOf(p.detail()));
      }
    }

    String last() {
      return details.get(details.size() - 1);
    }
  }

  static String find(Pattern p, String notes, int group) {
    Matcher m = p.matcher(notes);
    assertTrue(m.find(), "no note like " + p + " in: " + notes);
    return m.group(group);
  }

  @Test
  void restoreInPlaceWritesOnlyTheBlocksThatCanDifferThenAWholeOneSaysWhy() throws Exception {
    String name = "lencap-it-diffrestore";
    try (CounterGuest g = QemuSystem.guests().define(name, DATA, "qcow2")) {
      g.start();
      g.awaitCounter(n -> n >= 1, CounterGuestIT.WAIT);
      Encapsulation job = CounterGuestIT.group("diffrestore", CaptureMode.NON_BLOCKING, g.resource("vm"));
      CutProbe probe = new CutProbe(Map.of("vm", g.disk()));
      RestoreNotes notes = new RestoreNotes();
      byte[] atFirst = ChangedBlocksIT.initialData(name);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(probe).listener(notes).build()) {
        Checkpoint first = CounterGuestIT.await(lencap.capture(job));
        int counterAtFirst = probe.atCut.get("vm");
        byte[] atSecond = atFirst.clone();
        ChangedBlocksIT.rewrite(g, atSecond, 0xab); // 1%: ten 256 KiB extents, 20 blocks
        Checkpoint second = CounterGuestIT.await(lencap.capture(job));
        int counterAtSecond = probe.atCut.get("vm");
        for (int i = 0; i < 5; i++) { // after the second cut: five more blocks
          g.writeThroughQemu("vdb", i * (50L << 20) + (12L << 20), 64 << 10, 0xcd);
        }

        // Paused, so that no counter of this run comes after the mark; the restore stops it itself, and QEMU stores
        // its bitmaps as it exits.
        QemuSystem.domain(g).suspend();
        int mark = g.counters().size();
        long t0 = System.nanoTime();
        CounterGuestIT.await(lencap.restore(job, first.id()));
        long differentialNs = System.nanoTime() - t0;
        String diffNotes = notes.last();
        long written = Long.parseLong(find(WROTE, diffNotes, 1));
        assertEquals(DATA, Long.parseLong(find(WROTE, diffNotes, 2)));
        assertTrue(written >= 25L * BLOCK, "wrote " + written + " bytes: less than the 25 blocks that changed: "
            + diffNotes);
        assertTrue(written <= DATA * 3L / 100, "wrote " + written + " bytes, more than 3% of " + DATA);
        assertTrue(diffNotes.contains("disk vda: restored whole (") && diffNotes.contains("it is smaller than "
            + DifferentialRestore.minBytes() + " bytes"), "the 32 MiB counter disk goes whole, saying why: " + diffNotes);
        assertEquals(counterAtFirst, probe.atRestore.get("vm"), "the counter disk is as it was at the first cut");
        assertArrayEquals(atFirst, ChangedBlocksIT.guestView(g.dataImage(), tmp), "every byte of vdb as it was at the first cut");
        assertEquals(List.of(), bitmaps(g.dataImage()), "Lencap's bitmaps removed after writing into the image");
        CounterGuestIT.assertContinues(counterAtFirst, g.awaitCounter(mark, n -> true, CounterGuestIT.WAIT));
        CounterGuestIT.assertNoLeftovers(g.directory());

        // Fallback: no bitmap left in the image to prove anything with, so the next restore writes a new image whole.
        QemuSystem.domain(g).suspend();
        mark = g.counters().size();
        t0 = System.nanoTime();
        CounterGuestIT.await(lencap.restore(job, second.id()));
        long wholeNs = System.nanoTime() - t0;
        String wholeNotes = notes.last();
        // libvirt still lists the checkpoints and the image is the same file, but their bitmaps are gone from it.
        assertTrue(find(WHOLE, wholeNotes, 3).contains("holds no bitmap lencap-"), wholeNotes);
        assertEquals(first.id(), find(WROTE, diffNotes, 4), "the restored checkpoint's own bitmap served");
        assertEquals("0", find(WROTE, diffNotes, 5), diffNotes);
        assertEquals(counterAtSecond, probe.atRestore.get("vm"), "the counter disk is as it was at the second cut");
        assertArrayEquals(atSecond, ChangedBlocksIT.guestView(g.dataImage(), tmp), "every byte of vdb as it was at the second cut");
        CounterGuestIT.assertContinues(counterAtSecond, g.awaitCounter(mark, n -> true, CounterGuestIT.WAIT));
        CounterGuestIT.assertNoLeftovers(g.directory());

        long diffDiskMs = Long.parseLong(find(WROTE, diffNotes, 3));
        long wholeDiskMs = Long.parseLong(find(WHOLE, wholeNotes, 2));
        System.out.printf("differential restore: wrote %d of vdb's %d bytes (%.2f%%), vdb in %d ms, the whole restore "
            + "(both disks, memory, domain) in %d ms; whole restore, same run: vdb %d bytes into a new image in %d ms "
            + "(%.1fx), the whole restore in %d ms (%.2fx)%n", written, DATA, 100.0 * written / DATA, diffDiskMs,
            differentialNs / 1_000_000, DATA, wholeDiskMs, (double) wholeDiskMs / Math.max(1, diffDiskMs),
            wholeNs / 1_000_000, (double) wholeNs / differentialNs);
      }
    }
  }

  /**
   * An earlier checkpoint's bitmap serves a restore of an older one, with the blocks whose chunks differ between the
   * two; a bitmap whose checkpoint was deleted from the store does not, and the restore goes whole saying so.
   */
  @Test
  void aLaterCheckpointsBitmapServesWithTheChunksThatDifferAndADeletedOnesDoesNot() throws Exception {
    String name = "lencap-it-diffrestore-p";
    int size = ChangedBlocksIT.SMALL;
    System.setProperty(DifferentialRestore.MIN_BYTES, "0"); // small enough to go whole otherwise
    try (CounterGuest g = QemuSystem.guests().define(name, size, "qcow2")) {
      g.start();
      g.awaitCounter(n -> n >= 1, CounterGuestIT.WAIT);
      Encapsulation job = CounterGuestIT.group("diffrestore-p", CaptureMode.NON_BLOCKING, g.resource("vm"));
      RestoreNotes notes = new RestoreNotes();
      byte[] atFirst = new byte[size];
      new java.util.Random(name.hashCode()).nextBytes(atFirst);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(notes).build()) {
        Checkpoint first = CounterGuestIT.await(lencap.capture(job));
        byte[] atSecond = atFirst.clone();
        g.writeThroughQemu("vdb", 3L * BLOCK, 2 * BLOCK, 0xab); // blocks 3 and 4
        java.util.Arrays.fill(atSecond, 3 * BLOCK, 5 * BLOCK, (byte) 0xab);
        Checkpoint second = CounterGuestIT.await(lencap.capture(job));
        g.writeThroughQemu("vdb", 10L * BLOCK + 4096, 4096, 0xcd); // block 10, after the second cut
        // Only the second checkpoint's bitmap is left: deleting the first's (the oldest) drops its bitmap.
        HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "checkpoint-delete", g.name(), "lencap-"
            + MemberDomain.tag(first.id()));

        CounterGuestIT.await(lencap.restore(job, first.id()));
        String diffNotes = notes.last();
        assertEquals(second.id(), find(WROTE, diffNotes, 4), diffNotes);
        assertEquals("2", find(WROTE, diffNotes, 5), "blocks 3 and 4 differ between the two: " + diffNotes);
        long written = Long.parseLong(find(WROTE, diffNotes, 1));
        assertTrue(written >= 3L * BLOCK && written <= 4L * BLOCK, "wrote " + written + ": " + diffNotes);
        assertArrayEquals(atFirst, ChangedBlocksIT.guestView(g.dataImage(), tmp), "every byte of vdb as it was at the first cut");

        // A third checkpoint's bitmap, the checkpoint then deleted from the store (as retention may): whole.
        Checkpoint third = CounterGuestIT.await(lencap.capture(job));
        g.writeThroughQemu("vdb", 5L * BLOCK, 4096, 0xee);
        CounterGuestIT.await(lencap.delete(job.name(), third.id()));
        assertEquals(List.of("lencap-" + MemberDomain.tag(third.id())), ChangedBlocksIT.checkpoints(g));
        CounterGuestIT.await(lencap.restore(job, second.id()));
        String wholeNotes = notes.last();
        assertTrue(find(WHOLE, wholeNotes, 3).contains("checkpoint " + third.id() + " is no longer in the store"),
            wholeNotes);
        assertArrayEquals(atSecond, ChangedBlocksIT.guestView(g.dataImage(), tmp), "every byte of vdb as it was at the second cut");
      }
    } finally {
      System.clearProperty(DifferentialRestore.MIN_BYTES);
    }
  }

  static List<String> bitmaps(Path image) throws Exception {
    return QemuImg.bitmapNames(image).stream().filter(b -> b.startsWith(Checkpoints.PREFIX)).toList();
  }

}
