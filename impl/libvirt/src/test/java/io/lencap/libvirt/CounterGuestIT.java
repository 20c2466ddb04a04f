package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Placement;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.testing.CounterConsole;
import io.lencap.testing.CounterGuest;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.LibvirtException;

/**
 * Counter guests on real libvirt + QEMU, captured and restored through the engine: the counter goes on
 * from the captured value (console and disk agree), in both modes, for a group of two, and elsewhere.
 */
class CounterGuestIT {
  static final Duration WAIT = Duration.ofSeconds(120);

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  static Encapsulation group(String name, CaptureMode mode, Resource... members) {
    return Encapsulation.builder(name).resources(java.util.List.of(members))
        .policy(ResiliencyPolicy.builder().mode(mode).pauseBudget(Duration.ofSeconds(60))
            .phaseTimeout(Duration.ofMinutes(3)).build()).build();
  }

  static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
    return f.get(5, TimeUnit.MINUTES);
  }

  @Test
  void nonBlockingCaptureLeavesTheGuestRunningAndRestoreContinuesTheCounter() throws Exception {
    try (CounterGuest g = QemuSystem.guests().boot("lencap-it-nb")) {
      g.awaitCounter(n -> n >= 2, WAIT);
      Encapsulation job = group("nb", CaptureMode.NON_BLOCKING, g.resource("vm"));
      CutProbe probe = new CutProbe(Map.of("vm", g.disk()));
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(probe).build()) {
        long boots = g.boots();
        Checkpoint cp = await(lencap.capture(job));
        assertTrue(probe.errors.isEmpty(), probe.errors.toString());
        int atCut = probe.atCut.get("vm");
        MemberCheckpoint m = cp.member("vm").orElseThrow();
        assertEquals("live-external-snapshot", m.method());
        assertTrue(m.notes().stream().anyMatch(n -> n.contains("vCPUs stood still")), m.notes().toString());

        // Left running on its own disk again: the counter goes on, the overlay was merged and deleted.
        g.awaitCounter(n -> n >= atCut + 3, WAIT);
        assertEquals(g.disk().toString(), QemuSystem.diskSource(g));
        assertNoLeftovers(g.directory());
        int reached = g.lastCounter();

        QemuSystem.domain(g).destroy();
        int mark = g.counters().size();
        await(lencap.restore(job, cp.id()));
        assertEquals(atCut, probe.atRestore.get("vm"), "the disk came back as it was at the cut");
        int first = g.awaitCounter(mark, n -> true, WAIT);
        assertContinues(atCut, first);
        assertTrue(first <= reached, "restored " + first + " but the guest had reached " + reached);
        assertEquals(boots, g.boots(), "the guest went on from memory, without a cold boot");
        // Console and disk keep agreeing afterwards.
        int later = g.awaitCounter(mark, n -> n >= first + 2, WAIT);
        int onDisk = g.diskCounter();
        // The guest prints each value before it writes it to the disk: the disk may be one behind the console.
        assertTrue(onDisk >= later - 1 && onDisk <= later + 2, "disk " + onDisk + " vs console " + later);
      }
    }
  }

  @Test
  void blockingCaptureAndRestoreOverTheRunningGuest() throws Exception {
    try (CounterGuest g = QemuSystem.guests().boot("lencap-it-b")) {
      g.awaitCounter(n -> n >= 2, WAIT);
      Encapsulation job = group("b", CaptureMode.BLOCKING, g.resource("vm"));
      CutProbe probe = new CutProbe(Map.of("vm", g.disk()));
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(probe).build()) {
        long boots = g.boots();
        Checkpoint cp = await(lencap.capture(job));
        assertTrue(probe.errors.isEmpty(), probe.errors.toString());
        int atCut = probe.atCut.get("vm");
        assertEquals("save-image", cp.member("vm").orElseThrow().method());
        g.awaitCounter(n -> n >= atCut + 4, WAIT); // started again from its save image, not rebooted
        assertEquals(boots, g.boots());
        assertEquals(g.disk().toString(), QemuSystem.diskSource(g));

        int mark = g.counters().size();
        await(lencap.restore(job, cp.id())); // over the running guest, in place
        assertEquals(atCut, probe.atRestore.get("vm"));
        int first = g.awaitCounter(mark, n -> true, WAIT);
        assertContinues(atCut, first);
        assertEquals(boots, g.boots());
        assertEquals(g.disk().toString(), QemuSystem.diskSource(g));
      }
    }
  }

  @Test
  void twoGuestsAreCutTogetherAtOneRecoveryLine() throws Exception {
    try (CounterGuest a = QemuSystem.guests().define("lencap-it-pair-a"); CounterGuest b = QemuSystem.guests().define("lencap-it-pair-b")) {
      QemuSystem.domain(a).create();
      QemuSystem.domain(b).create();
      a.awaitCounter(n -> n >= 2, WAIT);
      b.awaitCounter(n -> n >= 2, WAIT);
      Encapsulation job = group("pair", CaptureMode.NON_BLOCKING, a.resource("a"), b.resource("b"));
      CutProbe probe = new CutProbe(Map.of("a", a.disk(), "b", b.disk()));
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(probe).build()) {
        Checkpoint cp = await(lencap.capture(job));
        assertTrue(probe.errors.isEmpty(), probe.errors.toString());
        assertEquals(2, cp.members().size());
        // Both cuts ran at once, and the recovery line follows both.
        assertTrue(probe.cutStarted.get("a").isBefore(probe.cutCompleted.get("b")));
        assertTrue(probe.cutStarted.get("b").isBefore(probe.cutCompleted.get("a")));
        assertFalse(cp.recoveryLine().isBefore(probe.cutCompleted.get("a")));
        assertFalse(cp.recoveryLine().isBefore(probe.cutCompleted.get("b")));
        int cutA = probe.atCut.get("a");
        int cutB = probe.atCut.get("b");

        a.awaitCounter(n -> n >= cutA + 3, WAIT);
        QemuSystem.domain(a).destroy();
        QemuSystem.domain(b).destroy();
        int markA = a.counters().size();
        int markB = b.counters().size();
        await(lencap.restore(job, cp.id()));
        assertContinues(cutA, a.awaitCounter(markA, n -> true, WAIT));
        assertContinues(cutB, b.awaitCounter(markB, n -> true, WAIT));
      }
    }
  }

  @Test
  void restoreUnderAnotherNameLeavesTheOriginalUntouched() throws Exception {
    String copyName = "lencap-it-orig-copy";
    try (CounterGuest g = QemuSystem.guests().boot("lencap-it-orig")) {
      g.awaitCounter(n -> n >= 2, WAIT);
      Encapsulation job = group("orig", CaptureMode.NON_BLOCKING, g.resource("vm"));
      Path copyDisk = g.directory().resolve(copyName + "-vda.qcow2");
      Path copyConsole = g.directory().resolve(copyName + "-console0.log");
      CutProbe probe = new CutProbe(Map.of("vm", g.disk()));
      probe.restoredAt("vm", copyDisk);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).listener(probe).build()) {
        Checkpoint cp = await(lencap.capture(job));
        int atCut = probe.atCut.get("vm");
        g.awaitCounter(n -> n >= atCut + 3, WAIT);
        int id = QemuSystem.domain(g).getID();
        long boots = g.boots();

        Placement elsewhere = Placement.builder().move("vm", URI.create(QemuSystem.uri()), Map.of("domain", copyName,
            DiskTargets.DIRECTORY, g.directory().toString()))
            .build();
        await(lencap.restore(job, cp.id(), elsewhere));
        assertEquals(atCut, probe.atRestore.get("vm"));
        int first = CounterConsole.at(copyConsole).awaitCounter(0, n -> true, WAIT);
        assertContinues(atCut, first);
        assertEquals(0, Files.readString(copyConsole).lines().filter(l -> l.startsWith("LENCAP-GUEST BOOT")).count());
        assertEquals(copyDisk.toString(), DomainXml.parse(QemuSystem.connection().domainLookupByName(copyName)
            .getXMLDesc(0)).disks().get(0).source().orElseThrow().toString());

        // The original ran on, untouched: same process, same disk, no reboot, counter still climbing.
        int before = g.lastCounter();
        g.awaitCounter(n -> n >= before + 2, WAIT);
        assertEquals(id, QemuSystem.domain(g).getID());
        assertEquals(g.disk().toString(), QemuSystem.diskSource(g));
        assertEquals(boots, g.boots());
      } finally {
        QemuSystem.guests().remove(copyName);
      }
    }
  }

  /** After a restore the guest prints the value after the captured one (two after, if cut between print and write). */
  static void assertContinues(int atCut, int first) {
    assertTrue(first == atCut + 1 || first == atCut + 2,
        "captured disk counter " + atCut + ", first counter after restore " + first);
  }

  static void assertNoLeftovers(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(java.util.List.of(), s.filter(p -> p.getFileName().toString().contains(".lencap-")).toList());
    }
  }

  static void assertRunning(CounterGuest g) throws LibvirtException {
    assertNotNull(QemuSystem.domain(g));
    assertEquals(1, QemuSystem.domain(g).isActive());
  }
}
