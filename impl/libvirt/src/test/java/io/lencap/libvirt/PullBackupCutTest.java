package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;

/** A remote domain's cut: when it is chosen, the job it asks libvirt for, and how it reads libvirt's answer. */
class PullBackupCutTest {
  static final Resource REMOTE = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE)
      .locator("qemu+tcp://10.231.0.2/system").property("domain", "vm1").build();

  @TempDir
  Path work;

  CutStrategy choose(LibvirtConnection.State state, String hypervisor, Capture ctx) throws Exception {
    MockedDomain d = new MockedDomain(work, REMOTE);
    return CapturePreparation.choose(d.member, state, hypervisor, ctx)
        .apply(d.member, new PreparedDomain(MockedDomain.UUID, state, List.of(), Set.of(), Set.of()));
  }

  @Test
  void aLocatorWithAHostIsRemote() {
    assertTrue(PullBackupCut.isRemote(URI.create("qemu+tcp://10.231.0.2/system")));
    assertTrue(PullBackupCut.isRemote(URI.create("qemu+ssh://root@b.example/system")));
    assertFalse(PullBackupCut.isRemote(URI.create("qemu:///system")));
    assertFalse(PullBackupCut.isRemote(URI.create("test:///default")));
  }

  @Test
  void aRunningOrPausedRemoteQemuDomainIsCutByAPullBackupInEitherMode() throws Exception {
    for (CaptureMode mode : CaptureMode.values()) {
      for (LibvirtConnection.State s : List.of(CutStrategyChoiceTest.RUNNING, CutStrategyChoiceTest.PAUSED)) {
        CutStrategy cut = choose(s, "QEMU", new Capture(REMOTE, mode));
        assertInstanceOf(PullBackupCut.class, cut, mode + " " + s);
        assertEquals("paused-pull-backup", cut.method());
        assertEquals(Optional.empty(), cut.memory(null), "no memory file here: it is read from the host's pool");
      }
    }
  }

  @Test
  void aMissingInactiveOrNonDirectoryPoolFailsInPrepareNamingTheProperty() throws Exception {
    MockedDomain d = new MockedDomain(work, REMOTE);
    Capture ctx = new Capture(REMOTE, CaptureMode.NON_BLOCKING);
    LibvirtException noPool = libvirtException(ErrorNumber.VIR_ERR_NO_STORAGE_POOL);
    when(d.conn.storagePoolLookupByName("lencap")).thenThrow(noPool);
    InvalidSpecException missing = assertThrows(InvalidSpecException.class,
        () -> CapturePreparation.choose(d.member, CutStrategyChoiceTest.RUNNING, "QEMU", ctx));
    assertEquals("resources[vm].properties.pool", missing.field());
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());

    MockedDomain inactive = new MockedDomain(work, REMOTE);
    when(inactive.pool.isActive()).thenReturn(0);
    InvalidSpecException off = assertThrows(InvalidSpecException.class,
        () -> CapturePreparation.choose(inactive.member, CutStrategyChoiceTest.RUNNING, "QEMU", ctx));
    assertEquals("resources[vm].properties.pool", off.field());
    assertTrue(off.getMessage().contains("not active"), off.getMessage());

    MockedDomain logical = new MockedDomain(work, REMOTE);
    when(logical.pool.getXMLDesc(0)).thenReturn("<pool type='logical'><target><path>/dev/vg</path></target></pool>");
    InvalidSpecException lvm = assertThrows(InvalidSpecException.class,
        () -> CapturePreparation.choose(logical.member, CutStrategyChoiceTest.RUNNING, "QEMU", ctx));
    assertTrue(lvm.getMessage().contains("type dir"), lvm.getMessage());
  }

  /** libvirt-java's exception for a call that failed with {@code code} (its constructor is not public). */
  static LibvirtException libvirtException(ErrorNumber code) {
    LibvirtException e = mock(LibvirtException.class);
    when(e.getError()).thenReturn(LibvirtErrorsTest.error(code));
    return e;
  }

  @Test
  void onlyAMemoryVolumeOfTheCutsOwnDomainIsReleased() {
    String u = MockedDomain.UUID;
    assertTrue(PullBackupCut.isMemoryVolume(u, PullBackupCut.memoryVolume(u, "cp_1.x-2")));
    assertFalse(PullBackupCut.isMemoryVolume(u, "other.qcow2"));
    assertFalse(PullBackupCut.isMemoryVolume(u, u + "-lencap-.mem"));
    assertFalse(PullBackupCut.isMemoryVolume(u, u + "-lencap-../x.mem"));
    assertFalse(PullBackupCut.isMemoryVolume("00000000-0000-0000-0000-000000000000", PullBackupCut.memoryVolume(u, "a")));
  }

  @Test
  void aShutOffOrNonQemuRemoteDomainFailsNamingTheMember() throws Exception {
    InvalidSpecException off = assertThrows(InvalidSpecException.class,
        () -> choose(CutStrategyChoiceTest.SHUTOFF, "QEMU", new Capture(REMOTE, CaptureMode.NON_BLOCKING)));
    assertEquals("resources[vm]", off.field());
    assertTrue(off.getMessage().contains("shut off on a remote host"), off.getMessage());
    InvalidSpecException xen = assertThrows(InvalidSpecException.class,
        () -> choose(CutStrategyChoiceTest.RUNNING, "Xen", new Capture(REMOTE, CaptureMode.NON_BLOCKING)));
    assertEquals("resources[vm]", xen.field());
  }

  @Test
  void theJobExportsTheCapturedDisksWithScratchImagesBesideThemOnTheRemoteAddress() throws Exception {
    DomainXml.Disk vda = disk("vda", "/pool/a'b.qcow2");
    DomainXml.Disk vdb = disk("vdb", "/pool/b.qcow2");
    PreparedDomain p = new PreparedDomain(MockedDomain.UUID, CutStrategyChoiceTest.RUNNING, List.of(vda, vdb),
        Set.of("vdb"), Set.of());
    MockedDomain d = new MockedDomain(work, REMOTE);
    PullBackupCut cut = new PullBackupCut(d.member, p, RemotePool.of(d.member, d.conn, "f"));
    String xml = cut.xml("10.231.0.2", 10810, "cp1");
    assertEquals("<domainbackup mode='pull'><server transport='tcp' name='10.231.0.2' port='10810'/><disks>"
        + "<disk name='vda' backup='yes' type='file'><scratch file='/pool/a&apos;b.qcow2.lencap-cp1.scratch'/></disk>"
        + "<disk name='vdb' backup='no'/></disks></domainbackup>", xml);
    assertEquals("<domainsnapshot><memory snapshot='external' file='/pool/" + MockedDomain.UUID
        + "-lencap-cp1.mem'/><disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/></disks>"
        + "</domainsnapshot>", cut.memoryXml(PullBackupCut.memoryVolume(MockedDomain.UUID, "cp1")),
        "the memory goes into the pool's volume; no disk is snapshotted, the backup job exports them");
  }

  @Test
  void readsThePortAndExportNamesLibvirtChose() {
    PullBackupCut.Job job = PullBackupCut.job("<domainbackup mode='pull'><server transport='tcp' name='10.231.0.2' "
        + "port='10811'/><disks><disk name='vda' backup='yes' type='file' exportname='vda-x' index='4'/>"
        + "<disk name='vdb' backup='yes'/><disk name='vdc' backup='no'/></disks></domainbackup>");
    assertEquals(10811, job.port());
    assertEquals(Map.of("vda", "vda-x", "vdb", "vdb"), job.exports());
  }

  @Test
  void aPortInUseIsToldFromOtherFailures() {
    // QEMU 7.2's answer through libvirt 9 when the port is taken on host B (seen with a listener on 10809).
    assertTrue(PullBackupCut.addressInUse(new LencapException("internal error: unable to execute QEMU command "
        + "'nbd-server-start': Failed to find an available port: Address already in use")));
    assertFalse(PullBackupCut.addressInUse(new LencapException("Operation not supported: <domainbackup> must "
        + "specify TCP port for now")));
  }

  @Test
  void aJobWithoutATcpServerIsRefused() {
    assertThrows(LencapException.class, () -> PullBackupCut.job("<domainbackup mode='pull'><server transport='unix' "
        + "socket='/x'/><disks/></domainbackup>"));
    assertThrows(LencapException.class, () -> PullBackupCut.job("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
        + "<domainbackup>&e;</domainbackup>"));
  }

  @Test
  void aRestoreOntoARemoteHostWithoutItsPoolFailsInPrepareNamingThePlacementsProperty() throws Exception {
    Resource local = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "vm1").build();
    MemoryState sink = new MemoryState(new MemoryState.Chunks(), "cp1");
    try (var w = sink.create(DomainDriver.DEFINITION, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
      byte[] xml = "<domain type='qemu'><name>vm1</name></domain>".getBytes(StandardCharsets.UTF_8);
      w.write(xml, 0, xml.length);
    }
    MockedDomain d = new MockedDomain(work, REMOTE).inState(LibvirtConnection.STATE_SHUTOFF);
    LibvirtException noPool = libvirtException(ErrorNumber.VIR_ERR_NO_STORAGE_POOL);
    when(d.conn.storagePoolLookupByName("lencap")).thenThrow(noPool);
    DomainRestore restore = new DomainRestore(d.member);
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> restore.prepare(new TckRestoreContext(local, REMOTE, sink.seal())));
    assertEquals("placement[vm].properties.pool", e.field());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  private static DomainXml.Disk disk(String dev, String file) {
    String xml = "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='"
        + file.replace("'", "&apos;") + "'/><target dev='" + dev + "' bus='virtio'/></disk></devices></domain>";
    return DomainXml.parse(xml).disks().get(0);
  }
}
