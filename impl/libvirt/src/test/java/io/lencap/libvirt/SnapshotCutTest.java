package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Domain;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.mockito.ArgumentCaptor;

/** The external-snapshot cuts on mocked libvirt calls: the snapshot they ask for, what they pause and report. */
class SnapshotCutTest {
  static final String DISKS = """
      <domain type='kvm'><name>vm1</name><devices>
        <disk type='file' device='disk'><driver type='raw'/><source file='/vms/vm1.img'/><target dev='vda'/></disk>
        <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>
        <disk type='network' device='disk'><driver type='raw'/>
          <source protocol='iscsi' name='iqn.2026-11.org.example:t/1'><host name='10.0.0.5' port='3260'/></source>
          <target dev='vdc'/></disk>
        <disk type='file' device='disk'><source file='/vms/scratch.img'/><target dev='vdd'/></disk>
        <disk type='file' device='cdrom'><source file='/iso/boot.iso'/><target dev='hdc'/><readonly/></disk>
      </devices></domain>""";

  @TempDir
  Path tmp;

  Map<String, String> artefacts(String kind) {
    return new TreeMap<>(Map.of("kind", kind, "domain", "vm1", "uuid", MockedDomain.UUID));
  }

  @Test
  void theSnapshotGivesEachCapturedDiskAnOverlayAndLeavesTheRestAlone() {
    Path work = tmp.resolve("libvirt");
    Map<String, String> a = new TreeMap<>();
    String xml = ExternalSnapshot.xml(MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, DISKS, Set.of("vdd")),
        work, "cp1", a);
    String u = MockedDomain.UUID;
    assertEquals("<domainsnapshot><name>lencap-cp1</name><memory snapshot='external' file='" + work.resolve(u + "-cp1.mem")
        + "'/><disks>"
        + "<disk name='vda' snapshot='external' type='file'><source file='/vms/vm1.img.lencap-cp1'/><driver type='qcow2'/></disk>"
        + "<disk name='vdb' snapshot='external' type='file'><source file='" + work.resolve(u + "-vdb-cp1.qcow2")
        + "'/><driver type='qcow2'/></disk>"
        + "<disk name='vdc' snapshot='external' type='file'><source file='" + work.resolve(u + "-vdc.lencap-cp1.qcow2")
        + "'/><driver type='qcow2'/></disk>"
        + "<disk name='vdd' snapshot='no'/><disk name='hdc' snapshot='no'/></disks></domainsnapshot>", xml);
    assertEquals(Map.of("memory", work.resolve(u + "-cp1.mem").toString(),
        "overlay.vda", "/vms/vm1.img.lencap-cp1", "base.vda", "/vms/vm1.img",
        "overlay.vdb", work.resolve(u + "-vdb-cp1.qcow2").toString(), "base.vdb", "/dev/sdb",
        "overlay.vdc", work.resolve(u + "-vdc.lencap-cp1.qcow2").toString(),
        "lun.vdc", "iscsi://10.0.0.5:3260/iqn.2026-11.org.example:t/1"), a);
  }

  @Test
  void pathsAreEscapedInTheSnapshotXml() {
    String odd = "<domain><devices><disk type='file'><source file=\"/vms/a'b&amp;c.img\"/><target dev='vda'/></disk>"
        + "</devices></domain>";
    String xml = ExternalSnapshot.xml(MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, odd, Set.of()),
        tmp, "cp1", new TreeMap<>());
    assertTrue(xml.contains("file='/vms/a&apos;b&amp;c.img.lencap-cp1'"), xml);
  }

  /** Plays libvirt's lifecycle events around the snapshot call, as QEMU's last copy round pauses the guest. */
  static void pauseDuringTheCall(MockedDomain d, boolean resumes) throws Exception {
    AtomicReference<LifecycleListener> listener = new AtomicReference<>();
    when(d.conn.watch(any())).thenAnswer(inv -> {
      listener.set(inv.getArgument(0));
      return (AutoCloseable) () -> listener.set(null);
    });
    when(d.domain.snapshotCreateXML(anyString(), anyInt())).thenAnswer(inv -> {
      listener.get().onLifecycleChange(d.domain, new DomainEvent(DomainEventType.SUSPENDED, 0));
      if (resumes) {
        listener.get().onLifecycleChange(d.domain, new DomainEvent(DomainEventType.RESUMED, 0));
      }
      return null;
    });
  }

  @Test
  void aLiveCutLeavesTheGuestRunningAndReportsThePauseItMeasured() throws Exception {
    Resource vm = MockedDomain.vm(Map.of("redirects", "iscsi://san.example/iqn.2026-11.org.example:t/1"));
    MockedDomain d = new MockedDomain(tmp, vm).inState(LibvirtConnection.STATE_RUNNING);
    pauseDuringTheCall(d, true);
    LiveSnapshotCut s = new LiveSnapshotCut(d.member, MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, DISKS, Set.of()));
    s.quiesce();
    verify(d.domain, never()).suspend();

    Capture ctx = new Capture(vm, CaptureMode.NON_BLOCKING);
    Cut cut = s.cut(ctx, "cp1", artefacts(LiveSnapshotCut.KIND));
    ArgumentCaptor<Integer> flags = ArgumentCaptor.forClass(Integer.class);
    verify(d.domain).snapshotCreateXML(anyString(), flags.capture());
    assertEquals(Domain.SnapshotCreateFlags.NO_METADATA | Domain.SnapshotCreateFlags.ATOMIC
        | Domain.SnapshotCreateFlags.LIVE, flags.getValue());

    assertTrue(cut.live());
    assertEquals(LiveSnapshotCut.KIND, cut.artefacts().get("kind"));
    assertTrue(cut.redirects().containsAll(List.of("iscsi://10.0.0.5:3260/iqn.2026-11.org.example:t/1",
        "iscsi://10.0.0.5/iqn.2026-11.org.example:t/1", "iscsi://san.example/iqn.2026-11.org.example:t/1")),
        cut.redirects().toString());
    assertEquals(Optional.of(Path.of(cut.artefacts().get("memory"))), s.memory(cut));

    // The pause is the guest's, SUSPENDED to RESUMED, reported once and recorded as it was reported.
    Duration paused = ctx.reportedPause().orElseThrow(() -> new AssertionError("a measured pause is reported"));
    assertEquals(Long.toString(paused.toMillis()), ctx.sink().seal().attributes().get("pause.guest.ms"));
    assertTrue(ctx.notes().stream().anyMatch(n -> n.startsWith("live external snapshot: the guest's vCPUs stood still "
        + paused.toMillis() + " ms")), ctx.notes().toString());
  }

  @Test
  void aLivePauseWhoseEndLibvirtNeverReportsIsLeftToTheEngine() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_RUNNING);
    pauseDuringTheCall(d, false);
    LiveSnapshotCut s = new LiveSnapshotCut(d.member, MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, DISKS, Set.of()));
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING);
    s.cut(ctx, "cp1", artefacts(LiveSnapshotCut.KIND));
    assertTrue(ctx.reportedPause().isEmpty(), "no half-measured pause: the engine's quiesce-to-resume stands");
    assertEquals("unknown", ctx.sink().seal().attributes().get("pause.guest.ms"));
    assertTrue(ctx.notes().stream().anyMatch(n -> n.contains("stood still an unmeasured time")), ctx.notes().toString());
  }

  @Test
  void aPausedCutStopsTheGuestFromQuiesceToResumeAndLeavesThatPauseToTheEngine() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_PAUSED);
    pauseDuringTheCall(d, true);
    PausedSnapshotCut s = new PausedSnapshotCut(d.member, MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, DISKS, Set.of()));
    s.quiesce();
    verify(d.domain).suspend();

    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING);
    Cut cut = s.cut(ctx, "cp1", artefacts(PausedSnapshotCut.KIND));
    ArgumentCaptor<Integer> flags = ArgumentCaptor.forClass(Integer.class);
    verify(d.domain).snapshotCreateXML(anyString(), flags.capture());
    assertEquals(Domain.SnapshotCreateFlags.NO_METADATA | Domain.SnapshotCreateFlags.ATOMIC, flags.getValue());
    assertTrue(cut.live());
    assertTrue(ctx.reportedPause().isEmpty(), "quiesce to resume is the guest's pause, as the engine measures it");
    assertNull(ctx.sink().seal().attributes().get("pause.guest.ms"));

    s.resume();
    verify(d.domain).resume();
  }

  @Test
  void aSnapshotOfADomainThatWasNotRunningDoesNotStartIt() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_PAUSED);
    PausedSnapshotCut s = new PausedSnapshotCut(d.member,
        MockedDomain.prepared(LibvirtConnection.STATE_PMSUSPENDED, DISKS, Set.of()));
    s.quiesce();
    s.resume();
    verify(d.domain, never()).suspend();
    verify(d.domain, never()).resume();
  }
}
