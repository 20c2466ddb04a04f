package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.api.Resource;
import io.lencap.testing.CounterGuest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A counter guest whose disk is an istgt LUN reached through QEMU's own iSCSI initiator, captured with that
 * LUN in one encapsulation: non-blocking, the guest writes to an overlay from its cut until the release, so the
 * LUN stays frozen and is read after the guest resumed; after a restore the LUN's first sector and the guest's
 * counter continue from one recovery line.
 */
class LunGuestIT {
  static final Duration WAIT = Duration.ofSeconds(120);
  static final Pattern COUNTER = Pattern.compile("COUNTER (\\d+)");

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  @Test
  void aGuestOnItsLunIsCapturedWithTheLunNonBlockingAndRestoresToOneRecoveryLine() throws Exception {
    try (Istgt istgt = new Istgt(tmp.resolve("target"), 64L << 20);
        CounterGuest g = QemuSystem.guests().defineOnLun("lencap-it-lun", istgt.locator())) {
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Resource lun = Resource.builder("lun").type("block").locator(istgt.locator()).build();
      Resource vm = g.resource("vm").toBuilder().property("cut", "live").dependsOn("lun").build();
      Probe probe = new Probe(istgt.lun);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store"))
          .storeOption("workDirectory", g.directory().resolve("work").toString()).listener(probe).build()) {
        // For comparison: the VM alone (its LUN disk excluded, as a capture without the LUN must say), and
        // both blocking (the LUN copied in the pause).
        Checkpoint vmOnly = CounterGuestIT.await(lencap.capture(CounterGuestIT.group("lun-vm-only",
            CaptureMode.NON_BLOCKING, g.resource("vm").toBuilder().property("exclude.disks", "vda").build())));
        Checkpoint blocking = CounterGuestIT.await(lencap.capture(
            CounterGuestIT.group("lun-blocking", CaptureMode.BLOCKING, lun, vm)));
        assertEquals("save-image", blocking.member("vm").orElseThrow().method());
        assertTrue(!blocking.member("lun").orElseThrow().method().equals("frozen-by-writers"));

        Encapsulation job = CounterGuestIT.group("lun-guest", CaptureMode.NON_BLOCKING, lun, vm);
        probe.reset();
        long boots = g.boots();
        Checkpoint cp = CounterGuestIT.await(lencap.capture(job));
        assertTrue(probe.errors.isEmpty(), probe.errors.toString());
        MemberCheckpoint lunCp = cp.member("lun").orElseThrow();
        MemberCheckpoint vmCp = cp.member("vm").orElseThrow();
        System.out.printf("lun-guest: vm-only pause %d ms; non-blocking with the LUN: group pause %d ms, vm %d ms "
                + "(%s), lun %d ms (%s, %d bytes); blocking: group pause %d ms, vm %d ms, lun %d ms (%s)%n",
            vmOnly.pause().toMillis(), cp.pause().toMillis(), vmCp.pause().toMillis(), vmCp.method(),
            lunCp.pause().toMillis(), lunCp.method(), lunCp.logicalBytes(), blocking.pause().toMillis(),
            blocking.member("vm").orElseThrow().pause().toMillis(),
            blocking.member("lun").orElseThrow().pause().toMillis(), blocking.member("lun").orElseThrow().method());
        assertEquals("frozen-by-writers", lunCp.method(), lunCp.notes().toString());
        assertEquals("live-external-snapshot", vmCp.method());
        assertEquals(64L << 20, lunCp.logicalBytes());
        // The LUN was read after the guest resumed, and it did not change meanwhile: the guest wrote its overlay.
        assertTrue(probe.vmResumed.isBefore(probe.lunTransferred), probe.vmResumed + " vs " + probe.lunTransferred);
        int atCut = probe.atCut;
        assertEquals(atCut, probe.atTransfer, "the LUN stayed frozen through its transfer");
        assertTrue(cp.pause().compareTo(blocking.pause()) < 0,
            "non-blocking pause " + cp.pause() + " vs blocking " + blocking.pause());

        // Released: the guest runs on the LUN again (overlay merged back and deleted), writing it.
        g.awaitCounter(n -> n >= atCut + 3, WAIT);
        assertEquals(java.util.Optional.of(istgt.locator()),
            DomainXml.parse(QemuSystem.domain(g).getXMLDesc(0)).disks().get(0).lun());
        int live = g.lastCounter();
        int onLun = awaitLun(istgt.lun, n -> n >= live);
        assertTrue(onLun >= live, "LUN " + onLun + " vs console " + live);
        try (var files = Files.list(g.directory().resolve("work").resolve("libvirt"))) {
          assertEquals(java.util.List.of(), files.filter(p -> p.toString().contains(".lencap-")).toList());
        }
        int reached = g.lastCounter();

        QemuSystem.domain(g).destroy();
        int mark = g.counters().size();
        CounterGuestIT.await(lencap.restore(job, cp.id()));
        assertEquals(atCut, probe.atRestore, "the LUN came back as it was at the cut (read before the VM restore)");
        int first = g.awaitCounter(mark, n -> true, WAIT);
        CounterGuestIT.assertContinues(atCut, first);
        assertTrue(first <= reached, "restored " + first + " but the guest had reached " + reached);
        assertEquals(boots, g.boots(), "the guest went on from memory, without a cold boot");
        System.out.printf("lun-guest: LUN sector 0 at the cut %d, after its transfer %d, after its restore %d; first "
            + "counter of the restored guest %d (the guest had reached %d)%n", atCut, probe.atTransfer,
            probe.atRestore, first, reached);
        int later = g.awaitCounter(mark, n -> n >= first + 2, WAIT);
        int lunLater = awaitLun(istgt.lun, n -> n >= later);
        assertTrue(lunLater <= later + 2, "LUN " + lunLater + " vs console " + later);
      }
    }
  }

  static int sector0(Path lun) throws IOException {
    byte[] b = new byte[512];
    try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "r")) {
      f.readFully(b);
    }
    Matcher m = COUNTER.matcher(new String(b, StandardCharsets.ISO_8859_1));
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /** Waits until the guest's writes reach the LUN's backing file (through QEMU, libiscsi and istgt). */
  static int awaitLun(Path lun, java.util.function.IntPredicate accept) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      int v = sector0(lun);
      if (accept.test(v)) {
        return v;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the LUN's first sector shows " + v);
      }
      TimeUnit.MILLISECONDS.sleep(100); // polling the file istgt writes
    }
  }

  /**
   * Reads the LUN's first sector from istgt's backing file at the moments that matter (listeners run
   * synchronously inside the engine): after the VM's cut (the overlay is in place, the LUN frozen), after the
   * LUN's transfer, and after the LUN's restore (the VM is restored after its storage, so it has not run yet).
   */
  static final class Probe implements LencapListener {
    final Path lun;
    final Map<String, Throwable> errors = new ConcurrentHashMap<>();
    volatile int atCut = -1;
    volatile int atTransfer = -1;
    volatile int atRestore = -1;
    volatile Instant vmResumed;
    volatile Instant lunTransferred;

    Probe(Path lun) {
      this.lun = lun;
    }

    void reset() {
      atCut = atTransfer = atRestore = -1;
      vmResumed = lunTransferred = null;
      errors.clear();
    }

    @Override
    public void onEvent(LencapEvent event) {
      if (!(event instanceof LencapEvent.PhaseChanged p) || p.memberId() == null
          || p.status() != LencapEvent.Status.COMPLETED) {
        return;
      }
      try {
        if (p.memberId().equals("vm") && p.phase() == Phase.CUT) {
          atCut = sector0(lun);
        } else if (p.memberId().equals("vm") && p.phase() == Phase.RESUME && vmResumed == null) {
          vmResumed = p.at();
        } else if (p.memberId().equals("lun") && p.phase() == Phase.TRANSFER) {
          lunTransferred = p.at();
          atTransfer = sector0(lun);
        } else if (p.memberId().equals("lun") && p.phase() == Phase.RESTORE) {
          atRestore = sector0(lun);
        }
      } catch (Exception e) {
        errors.put(p.memberId(), e);
      }
    }
  }

  /** A real istgt serving one file-backed LUN on a free loopback port, output to a file, stopped by PID. */
  static final class Istgt implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/sbin/istgt");
    final Path lun;
    final int port;
    final String target;
    private final Process process;

    Istgt(Path dir, long bytes) throws Exception {
      this(dir, bytes, "guest", null, null);
    }

    /** With a CHAP user and secret, the LUN refuses initiators without them. */
    Istgt(Path dir, long bytes, String target, String chapUser, String chapSecret) throws Exception {
      this.target = target;
      if (!Files.isExecutable(BINARY)) {
        String why = BINARY + " is missing: run scripts/setup/iscsi.sh";
        if (Boolean.getBoolean("lencap.it.require")) {
          fail(why);
        }
        Assumptions.abort(why);
      }
      Files.createDirectories(dir);
      lun = dir.resolve("lun0.img");
      try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "rw")) {
        f.setLength(bytes);
      }
      port = freePort();
      boolean chap = chapUser != null;
      Files.writeString(dir.resolve("auth.conf"), chap
          ? "[AuthGroup1]\n  Auth \"" + chapUser + "\" \"" + chapSecret + "\"\n" : "");
      Files.writeString(dir.resolve("istgt.conf"), "[Global]\n  NodeBase \"iqn.2024-01.io.lencap.it\"\n"
          + "  PidFile " + dir.resolve("istgt.pid") + "\n  AuthFile " + dir.resolve("auth.conf") + "\n"
          + "  MediaDirectory " + dir + "\n  Timeout 30\n  NopInInterval 20\n  MaxSessions 16\n  MaxConnections 4\n"
          + "  FirstBurstLength 262144\n  MaxBurstLength 1048576\n  MaxRecvDataSegmentLength 262144\n"
          + "[UnitControl]\n  AuthMethod None\n  Portal UC1 127.0.0.1:" + freePort() + "\n  Netmask 127.0.0.1\n"
          + "[PortalGroup1]\n  Portal DA1 127.0.0.1:" + port + "\n"
          + "[InitiatorGroup1]\n  InitiatorName \"ALL\"\n  Netmask 127.0.0.1\n"
          + "[LogicalUnit1]\n  TargetName " + target + "\n  Mapping PortalGroup1 InitiatorGroup1\n  UnitType Disk\n"
          + "  QueueDepth 32\n" + (chap ? "  AuthMethod CHAP\n  AuthGroup AuthGroup1\n" : "  AuthMethod None\n")
          + "  LUN0 Storage " + lun + " Auto\n");
      Path log = dir.resolve("istgt.log");
      process = new ProcessBuilder(BINARY.toString(), "-D", "-c", dir.resolve("istgt.conf").toString())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (true) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 500);
          return;
        } catch (IOException e) {
          if (!process.isAlive() || System.nanoTime() > deadline) {
            close();
            throw new IOException("istgt did not listen on 127.0.0.1:" + port + ": " + Files.readString(log));
          }
          process.waitFor(50, TimeUnit.MILLISECONDS); // returns early if istgt dies
        }
      }
    }

    URI locator() {
      return URI.create("iscsi://127.0.0.1:" + port + "/iqn.2024-01.io.lencap.it:" + target + "/0");
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      }
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
