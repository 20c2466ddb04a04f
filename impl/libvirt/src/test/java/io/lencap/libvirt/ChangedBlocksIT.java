package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.hash.HashCode;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.testing.CounterGuest;
import io.lencap.testing.HostCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changed-block tracking on real libvirt + QEMU: a counter guest with a 256 MiB qcow2 data disk, 1% of it rewritten
 * through QEMU between two captures; the second reads and stores at most 3% of the disk, and its restore gives back
 * every byte as it was at its cut. Then each case where the bitmap cannot be proven falls back to reading whole.
 */
class ChangedBlocksIT {
  static final int DATA = 256 << 20;
  static final int EXTENT = 256 << 10;
  /** What a bitmap bit covers: the qcow2 image's cluster, 64 KiB by default. */
  static final int GRANULE = 64 << 10;
  static final Pattern READ = Pattern.compile("disk vdb: read (\\d+) of (\\d+) bytes");
  static final Pattern WHOLE = Pattern.compile("disk vdb: read whole \\((\\d+) bytes\\)[^:]*: (.*)");

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  /** The 1% the test rewrites: ten 256 KiB extents 25 MiB apart, none aligned to a block. */
  static void rewrite(CounterGuest g, byte[] expected, int pattern) throws Exception {
    for (int i = 0; i < 10; i++) {
      long offset = i * (25L << 20) + 100 * 1024;
      g.writeThroughQemu("vdb", offset, EXTENT, pattern);
      Arrays.fill(expected, (int) offset, (int) offset + EXTENT, (byte) pattern);
    }
  }

  static byte[] initialData(String name) {
    byte[] b = new byte[DATA];
    new Random(name.hashCode()).nextBytes(b);
    return b;
  }

  /** The data disk as the guest sees it, read without QEMU's lock (through a raw copy in {@code scratch}). */
  static byte[] guestView(Path image, Path scratch) throws Exception {
    Path raw = scratch.resolve("view-" + System.nanoTime() + ".raw");
    HostCommand.run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString());
    try {
      return Files.readAllBytes(raw);
    } finally {
      Files.delete(raw);
    }
  }

  /** The bytes of the granules a write of {@code length} bytes at {@code offset} marks. */
  static long granules(long offset, long length) {
    long first = offset / GRANULE;
    long end = (offset + length + GRANULE - 1) / GRANULE;
    return (end - first) * GRANULE;
  }

  static String note(MemberCheckpoint m, Pattern p) {
    return m.notes().stream().filter(n -> p.matcher(n).find()).findFirst()
        .orElseThrow(() -> new AssertionError("no note like " + p + " in " + m.notes()));
  }

  static long bytesRead(MemberCheckpoint m) {
    Matcher r = READ.matcher(note(m, READ));
    assertTrue(r.find());
    return Long.parseLong(r.group(1));
  }

  /** The reason a capture read vdb whole. */
  static String wholeBecause(MemberCheckpoint m, long size) {
    Matcher r = WHOLE.matcher(note(m, WHOLE));
    assertTrue(r.find());
    assertEquals(size, Long.parseLong(r.group(1)));
    return r.group(2);
  }

  @Test
  void secondCaptureReadsAndStoresWhatChangedAndRestoresTheCut() throws Exception {
    String name = "lencap-it-cbt";
    try (CounterGuest g = QemuSystem.guests().define(name, DATA, "qcow2")) {
      g.start();
      g.awaitCounter(n -> n >= 1, CounterGuestIT.WAIT);
      Encapsulation job = CounterGuestIT.group("cbt", CaptureMode.NON_BLOCKING, g.resource("vm"));
      byte[] expected = initialData(name);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).build()) {
        Checkpoint first = CounterGuestIT.await(lencap.capture(job));
        MemberCheckpoint m1 = first.member("vm").orElseThrow();
        assertTrue(wholeBecause(m1, DATA).contains("no parent"), m1.notes().toString());

        rewrite(g, expected, 0xab);
        long t0 = System.nanoTime();
        Checkpoint second = CounterGuestIT.await(lencap.capture(job));
        long wall = System.nanoTime() - t0;
        MemberCheckpoint m2 = second.member("vm").orElseThrow();
        long read = bytesRead(m2);
        System.out.printf("changed-block tracking: first capture stored %d bytes; second read %d of %d bytes of vdb "
            + "(%.2f%%), stored %d bytes for the whole member (%.2f%% of vdb), in %d ms%n", m1.storedBytes(), read,
            DATA, 100.0 * read / DATA, m2.storedBytes(), 100.0 * m2.storedBytes() / DATA, wall / 1_000_000);
        // The marked granules only: each extent marks five, in two blocks read in part over the parent's chunks.
        assertEquals(10 * granules(100 * 1024, EXTENT), read, "bytes of vdb read");
        assertTrue(read <= DATA * 3L / 100, "read " + read + " bytes, more than 3% of " + DATA);
        assertTrue(m2.storedBytes() <= DATA * 3L / 100, "stored " + m2.storedBytes() + " bytes, more than 3%");

        rewrite(g, expected.clone(), 0xcd); // after the cut: the restore must undo it
        QemuSystem.domain(g).destroy();
        CounterGuestIT.await(lencap.restore(job, second.id()));
        assertArrayEquals(expected, guestView(g.dataImage(), tmp), "vdb restored as it was at the second cut");
      }
    }
  }

  // ------------------------------------------------------------------ fallbacks

  static final int SMALL = 8 << 20;

  /** What happens between the first capture and the second; may change what the disk holds. */
  interface Between {
    void run(CounterGuest g, Lencap lencap, Encapsulation job, Checkpoint first, byte[] expected) throws Exception;
  }

  /** The write every scenario makes before its second capture: two granules of block 3. */
  static final long WRITTEN = 3 * EXTENT + 4096;

  /**
   * Captures, breaks the proof with {@code between}, rewrites part of vdb, captures again and checks that the second
   * capture read vdb whole for the reason {@code why}, then that a restore of it gives back vdb as it was at its cut.
   */
  void scenario(String name, Between between, String why) throws Exception {
    scenario(name, between, why, -1);
  }

  /**
   * The same where the proof holds: the second capture reads {@code read} bytes of vdb, the granules marked; returns
   * its member checkpoint.
   */
  MemberCheckpoint incremental(String name, Between between, long read) throws Exception {
    return scenario(name, between, null, read);
  }

  private MemberCheckpoint scenario(String name, Between between, String why, long incrementalRead)
      throws Exception {
    // Half the disk never written: a whole read skips those unallocated clusters, and restores them as zeros.
    try (CounterGuest g = QemuSystem.guests().define(name, 2L * SMALL, SMALL, "qcow2")) {
      g.start();
      g.awaitCounter(n -> n >= 1, CounterGuestIT.WAIT);
      Encapsulation job = CounterGuestIT.group(name, CaptureMode.NON_BLOCKING, g.resource("vm"));
      byte[] expected = new byte[2 * SMALL];
      byte[] data = new byte[SMALL];
      new Random(name.hashCode()).nextBytes(data);
      System.arraycopy(data, 0, expected, 0, SMALL);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).build()) {
        Checkpoint first = CounterGuestIT.await(lencap.capture(job));
        MemberCheckpoint m1 = first.member("vm").orElseThrow();
        assertTrue(wholeBecause(m1, 2L * SMALL).contains("no parent"), m1.notes().toString());
        assertTrue(note(m1, WHOLE).contains("but for " + SMALL + " bytes of unallocated or zero clusters"),
            m1.notes().toString());
        between.run(g, lencap, job, first, expected);
        g.writeThroughQemu("vdb", WRITTEN, 64 * 1024, 0x5a);
        Arrays.fill(expected, (int) WRITTEN, (int) WRITTEN + 64 * 1024, (byte) 0x5a);
        Checkpoint second = CounterGuestIT.await(lencap.capture(job));
        MemberCheckpoint m = second.member("vm").orElseThrow();
        if (why == null) {
          assertEquals(incrementalRead, bytesRead(m), m.notes().toString());
          assertTrue(checkpoints(g).stream().noneMatch(c -> c.equals("lencap-died")), checkpoints(g).toString());
        } else {
          String reason = wholeBecause(m, 2L * SMALL);
          assertTrue(reason.contains(why), "read whole because '" + reason + "', expected '" + why + "'");
        }
        g.writeThroughQemu("vdb", 0, EXTENT, 0x11); // after the cut: the restore must undo it
        QemuSystem.domain(g).destroy();
        CounterGuestIT.await(lencap.restore(job, second.id()));
        assertArrayEquals(expected, guestView(g.dataImage(), tmp), "vdb restored as it was at the second cut");
        return m;
      }
    }
  }

  static List<String> checkpoints(CounterGuest g) throws Exception {
    return Arrays.stream(HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "checkpoint-list", g.name(), "--name")
        .split("\n")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  @Test
  void checkpointDeletedFallsBackToReadingWhole() throws Exception {
    scenario("lencap-it-cbt-del", (g, l, job, first, expected) -> {
      for (String c : checkpoints(g)) {
        HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "checkpoint-delete", g.name(), c);
      }
    }, "libvirt no longer knows the parent's checkpoint");
  }

  @Test
  void bitmapGoneFromTheImageFallsBackToReadingWhole() throws Exception {
    scenario("lencap-it-cbt-bitmap", (g, l, job, first, expected) -> {
      String node = HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "qemu-monitor-command", g.name(),
          "--hmp", "info block -n");
      Matcher m = Pattern.compile("(libvirt-\\d+-format): " + Pattern.quote(g.dataImage().toString())).matcher(node);
      assertTrue(m.find(), node);
      for (String c : checkpoints(g)) {
        HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "qemu-monitor-command", g.name(),
            "{\"execute\":\"block-dirty-bitmap-remove\",\"arguments\":{\"node\":\"" + m.group(1)
            + "\",\"name\":\"" + c + "\"}}");
      }
    }, "holds no bitmap");
  }

  @Test
  void restartedDomainFallsBackToReadingWhole() throws Exception {
    scenario("lencap-it-cbt-restart", (g, l, job, first, expected) -> {
      int seen = g.counters().size();
      g.destroy();
      g.start();
      g.awaitNewCounter(seen, CounterGuestIT.WAIT);
    }, "restarted or restored");
  }

  @Test
  void restoredDomainFallsBackToReadingWhole() throws Exception {
    scenario("lencap-it-cbt-restored", (g, l, job, first, expected) -> {
      g.writeThroughQemu("vdb", 0, EXTENT, 0x77); // undone by the restore: expected keeps the first cut's bytes
      CounterGuestIT.await(l.restore(job, first.id()));
    }, "restarted or restored");
  }

  @Test
  void deletedParentFallsBackToReadingWhole() throws Exception {
    scenario("lencap-it-cbt-parent", (g, l, job, first, expected) -> {
      // The third capture's prepare deletes the first's libvirt checkpoint (no parent needs it any more); with the
      // later two deleted, as retention may, the next capture's parent is the first again, its bitmap gone.
      Checkpoint b = CounterGuestIT.await(l.capture(job));
      Checkpoint c = CounterGuestIT.await(l.capture(job));
      CounterGuestIT.await(l.delete(job.name(), c.id()));
      CounterGuestIT.await(l.delete(job.name(), b.id()));
    }, "libvirt no longer knows the parent's checkpoint");
  }

  /**
   * A block marked in part is the parent's chunk with the marked granules read over it, but only a parent's chunk the
   * store verifies: with the chunk of the written block damaged in the store, that block is read whole instead.
   */
  @Test
  void aDamagedParentChunkIsNotPatchedItsBlockIsReadWhole() throws Exception {
    MemberCheckpoint m = incremental("lencap-it-cbt-damaged", (g, l, job, first, expected) -> {
      int block = (int) (WRITTEN / EXTENT);
      String id = HashCode.fromBytes(MessageDigest.getInstance("SHA-256")
          .digest(Arrays.copyOfRange(expected, block * EXTENT, (block + 1) * EXTENT))).toString();
      Path chunk;
      try (var files = Files.walk(tmp.resolve("store"))) {
        chunk = files.filter(f -> f.getFileName().toString().equals(id)).findFirst()
            .orElseThrow(() -> new AssertionError("no object of chunk " + id + " in the store"));
      }
      byte[] stored = Files.readAllBytes(chunk);
      stored[stored.length / 2] ^= 1;
      Files.write(chunk, stored);
    }, EXTENT);
    assertTrue(m.notes().stream().anyMatch(n -> n.contains("vdb: 1 of the parent's chunks failed verification")),
        m.notes().toString());
  }

  /**
   * A capture that died between making its checkpoint and committing leaves that checkpoint behind; the parent's
   * bitmap still covers everything since the parent's cut (the dead capture's only marks more), so the next capture
   * stays incremental, correctly, and deletes the orphan.
   */
  @Test
  void checkpointLeftByACaptureThatDiedIsDeletedAndTheParentsBitmapStillServes() throws Exception {
    incremental("lencap-it-cbt-crash", (g, l, job, first, expected) -> {
      HostCommand.run("virsh", "-q", "-c", QemuSystem.uri(), "checkpoint-create-as", g.name(), "lencap-died",
          "--diskspec", "vda,checkpoint=bitmap", "--diskspec", "vdb,checkpoint=bitmap");
      // The same block as the scenario's write, the next granule: the parent's bitmap marks it too.
      g.writeThroughQemu("vdb", 3 * EXTENT + 128 * 1024, 4096, 0x33);
      Arrays.fill(expected, 3 * EXTENT + 128 * 1024, 3 * EXTENT + 128 * 1024 + 4096, (byte) 0x33);
    }, granules(WRITTEN, 64 * 1024) + GRANULE);
  }

  /**
   * The same with a real crash: another JVM's capture is killed with SIGKILL in its transfer, after its libvirt
   * checkpoint and its live snapshot's overlays were made and before its commit. The application repairs the group;
   * the next capture merges the overlays back, deletes the dead capture's checkpoint, reads incrementally from the
   * parent's bitmap, and its restore gives back the cut.
   */
  @Test
  void captureKilledBeforeItsCommitLeavesTheNextCaptureIncrementalAndCorrect() throws Exception {
    incremental("lencap-it-cbt-kill", (g, l, job, first, expected) -> {
      List<String> before = checkpoints(g);
      Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), KilledCapture.class.getName(), tmp.resolve("store").toString(),
          g.name()).redirectError(tmp.resolve("child.err").toFile()).start();
      try (var out = new BufferedReader(new InputStreamReader(child.getInputStream(),
          StandardCharsets.UTF_8))) {
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
          try {
            return String.valueOf(out.readLine());
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        assertEquals("TRANSFERRING", line.get(5, TimeUnit.MINUTES),
            "the child's capture did not reach its transfer; its stderr: " + Files.readString(tmp.resolve("child.err")));
      } finally {
        child.destroyForcibly(); // SIGKILL: no shutdown hook, no release, no commit
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
      }
      assertEquals(before.size() + 1, checkpoints(g).size(), "the killed capture left its checkpoint: " + checkpoints(g));
      assertEquals(1, CounterGuestIT.await(l.checkpoints(job.name())).size(), "the killed capture committed");
      CounterGuestIT.await(l.repair(job));
    }, granules(WRITTEN, 64 * 1024));
  }

  /** A capture that announces its transfer and then holds it (the listener blocks) until it is killed. */
  static final class KilledCapture {
    private KilledCapture() {}

    public static void main(String[] args) throws Exception {
      Encapsulation job = CounterGuestIT.group(args[1], CaptureMode.NON_BLOCKING,
          QemuSystem.guests().guest(args[1]).resource("vm"));
      CountDownLatch never = new CountDownLatch(1);
      try (Lencap lencap = Lencap.builder().store(Path.of(args[0])).listener(e -> {
        if (e instanceof LencapEvent.Progress p && p.bytesDone() > 0) {
          System.out.println("TRANSFERRING");
          System.out.flush();
          try {
            never.await();
          } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
          }
        }
      }).build()) {
        lencap.capture(job).join();
      }
      System.out.println("COMMITTED");
    }
  }
}
