package io.lencap.libvirt;

import static io.lencap.libvirt.CounterGuestIT.assertContinues;
import static io.lencap.libvirt.CounterGuestIT.await;
import static io.lencap.libvirt.CounterGuestIT.group;
import static io.lencap.libvirt.LunGuestIT.WAIT;
import static io.lencap.libvirt.LunGuestIT.awaitLun;
import static io.lencap.libvirt.LunGuestIT.sector0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.libvirt.LunGuestIT.Istgt;
import io.lencap.spi.Cut;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.testing.CounterGuest;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.SecretUsageType;

/**
 * The life of a counter guest's LUN overlay beyond the plain case of {@link LunGuestIT}, on real QEMU (its own
 * iSCSI initiator) and istgt: a CHAP-protected LUN whose guest stops between cut and release (merged offline,
 * auth kept), an overlay left by an interrupted capture (merged by the next one), and a restore that moves the
 * LUN to another target (the VM follows it), also onto a target with other CHAP credentials (it logs in with them).
 */
class LunLifecycleIT {
  static final String CHAP_USER = "lencap-it";
  static final String SECRET_USAGE = "lencap-it-lun-chap";

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  @Test
  void aChapLunGuestStoppedBetweenCutAndReleaseIsMergedOfflineAndKeepsItsAuth() throws Exception {
    String password = "chap-" + Long.toHexString(System.nanoTime()) + "-pw";
    try (Istgt istgt = new Istgt(tmp.resolve("target"), 64L << 20, "chap", CHAP_USER, password);
        LibvirtSecret secret = new LibvirtSecret(SECRET_USAGE, password);
        CounterGuest g = QemuSystem.guests().defineOnLun("lencap-it-lun-chap", istgt.locator(), "<auth username='"
            + CHAP_USER + "'><secret type='iscsi' usage='" + SECRET_USAGE + "'/></auth>")) {
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Resource lun = Resource.builder("lun").type("block").locator(istgt.locator())
          .property("chap.user", CHAP_USER).secret("chap.secret", Secret.of(password)).build();
      Resource vm = g.resource("vm").toBuilder().property("cut", "live").dependsOn("lun").build();
      LunGuestIT.Probe probe = new LunGuestIT.Probe(istgt.lun);
      Path work = g.directory().resolve("work");
      AtomicBoolean fired = new AtomicBoolean();
      AtomicReference<Throwable> listenerError = new AtomicReference<>();
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).storeOption("workDirectory", work.toString())
          .listener(probe).build()) {
        lencap.addListener(e -> {
          // The VM's transfer has started (its thread reports progress): the guest writes its overlay a little
          // longer, then stops for good; the capture fails and its release finds the domain shut off.
          if (e instanceof LencapEvent.Progress p && "vm".equals(p.memberId()) && p.bytesDone() > 0
              && fired.compareAndSet(false, true)) {
            try {
              g.awaitCounter(n -> n >= probe.atCut + 3, WAIT);
              QemuSystem.domain(g).destroy();
            } catch (Throwable x) {
              listenerError.set(x);
            }
          }
        });
        ExecutionException failed = assertThrows(ExecutionException.class,
            () -> lencap.capture(group("lun-chap", CaptureMode.NON_BLOCKING, lun, vm)).get(5, TimeUnit.MINUTES));
        assertInstanceOf(CaptureAbortedException.class, failed.getCause());
        assertTrue(fired.get(), "the guest was stopped during the transfer");
        assertEquals(null, listenerError.get());
      }
      int atCut = probe.atCut;
      assertTrue(atCut >= 2, "LUN at the cut: " + atCut);
      // Merged offline into the LUN: what the guest wrote after the cut (into the overlay) is on the LUN now.
      int last = g.lastCounter();
      int onLun = sector0(istgt.lun);
      assertTrue(onLun == last || onLun == last - 1, "LUN " + onLun + ", last counter on the console " + last);
      assertTrue(onLun >= atCut + 2, "LUN " + onLun + " vs " + atCut + " at the cut");
      try (var files = Files.list(work.resolve("libvirt"))) {
        assertEquals(List.of(), files.filter(p -> p.toString().contains(".lencap-")).toList());
      }
      // The definition names the LUN again, with its CHAP user and secret.
      DomainXml def = DomainXml.parse(QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE));
      assertEquals(Optional.of(new DomainXml.LunAccess(istgt.locator(), Optional.of(CHAP_USER), Optional.empty(),
          Optional.of(SECRET_USAGE), Optional.empty())), def.lunAccess("vda"));
      assertEquals(Optional.empty(), def.disks().get(0).backingLun());
      // A cold boot logs in with CHAP (istgt refuses it otherwise) and goes on from the merged counter.
      int mark = g.counters().size();
      QemuSystem.domain(g).create();
      assertEquals(onLun + 1, g.awaitCounter(mark, n -> true, WAIT));
      System.out.printf("lun-chap: LUN at the cut %d, after the offline merge %d (console reached %d)%n", atCut,
          onLun, last);
    }
  }

  @Test
  void anOverlayLeftOverTheLunByAnInterruptedCaptureIsMergedByTheNextOne() throws Exception {
    try (Istgt istgt = new Istgt(tmp.resolve("target"), 64L << 20);
        CounterGuest g = QemuSystem.guests().defineOnLun("lencap-it-lun-left", istgt.locator())) {
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Path work = g.directory().resolve("work");
      Resource vm = g.resource("vm").toBuilder().property("cut", "live").build();
      // An interrupted capture: cut and resumed, never released (the process died before its release).
      LibvirtProvider provider = new LibvirtProvider();
      Cut cut;
      int leftAt;
      try (ResourceDriver driver = provider.open(vm, context(work))) {
        Capture c = new Capture(vm, CaptureMode.NON_BLOCKING);
        driver.prepare(c);
        driver.quiesce();
        cut = driver.cut(c);
        leftAt = sector0(istgt.lun);
        driver.resume();
      } finally {
        provider.close();
      }
      Path overlay = Path.of(cut.artefacts().get("overlay.vda"));
      DomainXml.Disk left = DomainXml.parse(QemuSystem.domain(g).getXMLDesc(0)).disks().get(0);
      assertEquals(Optional.of(overlay), left.source());
      assertEquals(Optional.of(istgt.locator()), left.backingLun());
      g.awaitCounter(n -> n >= leftAt + 3, WAIT);
      assertEquals(leftAt, sector0(istgt.lun), "the guest writes the overlay, the LUN stays as it was");
      int inOverlay = CounterGuest.diskCounter(overlay).orElseThrow();
      assertTrue(inOverlay >= leftAt + 2, "overlay " + inOverlay + " vs LUN " + leftAt);

      Resource lun = Resource.builder("lun").type("block").locator(istgt.locator()).build();
      LunGuestIT.Probe probe = new LunGuestIT.Probe(istgt.lun);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).storeOption("workDirectory", work.toString())
          .listener(probe).build()) {
        Checkpoint cp = await(lencap.capture(group("lun-left", CaptureMode.NON_BLOCKING, lun,
            vm.toBuilder().dependsOn("lun").build())));
        MemberCheckpoint vmCp = cp.member("vm").orElseThrow();
        assertTrue(vmCp.notes().stream().anyMatch(n -> n.contains("merged " + overlay) && n.contains("interrupted")),
            vmCp.notes().toString());
        assertEquals("live-external-snapshot", vmCp.method());
        assertEquals("frozen-by-writers", cp.member("lun").orElseThrow().method());
        // The LUN held the overlay's writes before this capture cut it.
        assertTrue(probe.atCut >= inOverlay, "LUN at the new cut " + probe.atCut + ", overlay had " + inOverlay);
        System.out.printf("lun-left: LUN at the interrupted cut %d, overlay reached %d, LUN at the next cut %d%n",
            leftAt, inOverlay, probe.atCut);
      }
      // Released as usual: the guest runs on the LUN itself, nothing is left.
      DomainXml.Disk now = DomainXml.parse(QemuSystem.domain(g).getXMLDesc(0)).disks().get(0);
      assertEquals(Optional.of(istgt.locator()), now.lun());
      assertEquals(Optional.empty(), now.backingLun());
      assertTrue(!Files.exists(overlay));
      int live = g.lastCounter();
      awaitLun(istgt.lun, n -> n >= live);
    }
  }

  @Test
  void aGuestRestoredWithItsLunMovedToAnotherTargetRunsOnThatLun() throws Exception {
    try (Istgt a = new Istgt(tmp.resolve("a"), 64L << 20, "lun-a", null, null);
        Istgt b = new Istgt(tmp.resolve("b"), 64L << 20, "lun-b", null, null);
        CounterGuest g = QemuSystem.guests().defineOnLun("lencap-it-lun-moved", a.locator())) {
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Resource lun = Resource.builder("lun").type("block").locator(a.locator()).build();
      Resource vm = g.resource("vm").toBuilder().property("cut", "live").dependsOn("lun").build();
      Encapsulation job = group("lun-moved", CaptureMode.NON_BLOCKING, lun, vm);
      LunGuestIT.Probe onA = new LunGuestIT.Probe(a.lun);
      LunGuestIT.Probe onB = new LunGuestIT.Probe(b.lun);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store"))
          .storeOption("workDirectory", g.directory().resolve("work").toString()).listener(onA).listener(onB).build()) {
        Checkpoint cp = await(lencap.capture(job));
        int atCut = onA.atCut;
        g.awaitCounter(n -> n >= atCut + 3, WAIT);
        QemuSystem.domain(g).destroy();
        int aAfter = sector0(a.lun);
        assertTrue(aAfter > atCut, "LUN A " + aAfter + " vs " + atCut + " at the cut");
        assertEquals(-1, sector0(b.lun), "LUN B starts empty");

        int mark = g.counters().size();
        long started = System.nanoTime();
        await(lencap.restore(job, cp.id(), Placement.builder().move("lun", b.locator()).build()));
        long restoreMs = (System.nanoTime() - started) / 1_000_000;
        assertEquals(atCut, onB.atRestore, "LUN B holds the captured LUN before the VM is restored");
        int first = g.awaitCounter(mark, n -> true, WAIT);
        assertContinues(atCut, first);
        // The running guest and its definition (the next cold boot) both use LUN B.
        assertEquals(Optional.of(b.locator()), DomainXml.parse(QemuSystem.domain(g).getXMLDesc(0)).disks().get(0).lun());
        assertEquals(Optional.of(b.locator()),
            DomainXml.parse(QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE)).disks().get(0).lun());
        int later = g.awaitCounter(mark, n -> n >= first + 2, WAIT);
        int onB2 = awaitLun(b.lun, n -> n >= later);
        assertTrue(onB2 <= later + 2, "LUN B " + onB2 + " vs console " + later);
        assertEquals(aAfter, sector0(a.lun), "LUN A is left alone");
        System.out.printf("lun-moved: captured at %d, restored onto LUN B in %d ms, guest went on at %d, LUN B "
            + "follows (%d), LUN A stays at %d%n", atCut, restoreMs, first, onB2, aAfter);
      }
    }
  }

  @Test
  void aGuestRestoredOntoALunWithOtherChapCredentialsLogsInWithThem() throws Exception {
    // Random passwords with fixed prefixes: the build's output is grepped for the prefixes (never printed here).
    String pwA = "lencap-it-pw-a-" + Long.toHexString(System.nanoTime());
    String pwB = "lencap-it-pw-b-" + Long.toHexString(System.nanoTime());
    try (Istgt a = new Istgt(tmp.resolve("a"), 64L << 20, "chap-a", "user-a", pwA);
        Istgt b = new Istgt(tmp.resolve("b"), 64L << 20, "chap-b", "user-b", pwB);
        LibvirtSecret secretA = new LibvirtSecret(SECRET_USAGE, pwA);
        // A stale secret already defined for LUN B (an earlier restore): the restore must reuse it, not fail.
        LibvirtSecret secretB = new LibvirtSecret(ChapSecrets.usage(b.locator()), "stale-value");
        CounterGuest g = QemuSystem.guests().defineOnLun("lencap-it-lun-rechap", a.locator(), "<auth username='user-a'>"
            + "<secret type='iscsi' usage='" + SECRET_USAGE + "'/></auth>")) {
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Resource lun = Resource.builder("lun").type("block").locator(a.locator())
          .property("chap.user", "user-a").secret("chap.secret", Secret.of(pwA)).build();
      Resource vm = g.resource("vm").toBuilder().property("cut", "live").dependsOn("lun").build();
      Encapsulation job = group("lun-rechap", CaptureMode.NON_BLOCKING, lun, vm);
      LunGuestIT.Probe onA = new LunGuestIT.Probe(a.lun);
      LunGuestIT.Probe onB = new LunGuestIT.Probe(b.lun);
      try (Lencap lencap = Lencap.builder().store(tmp.resolve("store"))
          .storeOption("workDirectory", g.directory().resolve("work").toString()).listener(onA).listener(onB).build()) {
        Checkpoint cp = await(lencap.capture(job));
        int atCut = onA.atCut;
        g.awaitCounter(n -> n >= atCut + 3, WAIT);
        QemuSystem.domain(g).destroy();
        int aAfter = sector0(a.lun);
        assertEquals(-1, sector0(b.lun), "LUN B starts empty");

        int mark = g.counters().size();
        await(lencap.restore(job, cp.id(), Placement.builder().move("lun", b.locator(),
            Map.of("chap.user", "user-b"), Map.of("chap.secret", Secret.of(pwB))).build()));
        assertEquals(atCut, onB.atRestore, "LUN B holds the captured LUN before the VM is restored");
        // istgt refuses user-a (and user-b with another password): the guest going on proves the new login.
        int first = g.awaitCounter(mark, n -> true, WAIT);
        assertContinues(atCut, first);
        String usage = ChapSecrets.usage(b.locator());
        DomainXml.LunAccess expected = new DomainXml.LunAccess(b.locator(), Optional.of("user-b"), Optional.empty(),
            Optional.of(usage), Optional.empty());
        assertEquals(Optional.of(expected), DomainXml.parse(QemuSystem.domain(g).getXMLDesc(0)).lunAccess("vda"));
        String inactive = QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE);
        assertEquals(Optional.of(expected), DomainXml.parse(inactive).lunAccess("vda"), "the next cold boot too");
        assertEquals(1, inactive.split("<auth ", -1).length - 1, "one auth for the disk: " + inactive);
        // The one libvirt secret of that usage is the one there before, now holding LUN B's password.
        List<org.libvirt.Secret> withUsage = new java.util.ArrayList<>();
        Connect c = QemuSystem.connection();
        for (String uuid : c.listSecrets()) {
          org.libvirt.Secret s = c.secretLookupByUUIDString(uuid);
          if (s.getUsageType() == SecretUsageType.ISCSI && usage.equals(s.getUsageID())) {
            withUsage.add(s);
          }
        }
        assertEquals(List.of(secretB.uuid()), withUsage.stream().map(s -> {
          try {
            return s.getUUIDString();
          } catch (LibvirtException e) {
            throw new IllegalStateException(e);
          }
        }).toList());
        assertTrue(java.util.Arrays.equals(pwB.getBytes(StandardCharsets.UTF_8), withUsage.get(0).getByteValue()),
            "the secret holds LUN B's password");
        int later = g.awaitCounter(mark, n -> n >= first + 2, WAIT);
        int onB2 = awaitLun(b.lun, n -> n >= later);
        assertTrue(onB2 <= later + 2, "LUN B " + onB2 + " vs console " + later);
        assertEquals(aAfter, sector0(a.lun), "LUN A is left alone");
        // A cold boot from the definition logs in to LUN B with CHAP again and goes on from it.
        QemuSystem.domain(g).destroy();
        int onB3 = sector0(b.lun);
        int mark2 = g.counters().size();
        QemuSystem.domain(g).create();
        assertEquals(onB3 + 1, g.awaitCounter(mark2, n -> true, WAIT));
        System.out.printf("lun-rechap: captured on LUN A at %d, restored onto LUN B (other CHAP user) went on at %d,"
            + " LUN B follows (%d), cold boot went on from %d%n", atCut, first, onB2, onB3);
      }
    }
  }

  private static ProviderContext context(Path work) {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return work;
      }

      @Override
      public java.time.Clock clock() {
        return java.time.Clock.systemUTC();
      }
    };
  }

  /** A libvirt secret of usage type iSCSI holding a CHAP password (readable: not private), undefined on close. */
  static final class LibvirtSecret implements AutoCloseable {
    private final org.libvirt.Secret secret;

    LibvirtSecret(String usage, String value) throws LibvirtException {
      Connect c = QemuSystem.connection();
      for (String uuid : c.listSecrets()) {
        org.libvirt.Secret s = c.secretLookupByUUIDString(uuid);
        if (s.getUsageType() == SecretUsageType.ISCSI && usage.equals(s.getUsageID())) {
          s.undefine(); // left by an earlier run
        }
      }
      secret = c.secretDefineXML("<secret ephemeral='no' private='no'><usage type='iscsi'><target>" + usage
          + "</target></usage></secret>");
      secret.setValue(value.getBytes(StandardCharsets.UTF_8));
    }

    String uuid() throws LibvirtException {
      return secret.getUUIDString();
    }

    @Override
    public void close() throws LibvirtException {
      secret.undefine();
    }
  }
}
