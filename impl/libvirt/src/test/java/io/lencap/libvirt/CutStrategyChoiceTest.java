package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How prepare chooses a domain's cut ({@link CapturePreparation#choose}), once, and what each choice says. */
class CutStrategyChoiceTest {
  static final LibvirtConnection.State RUNNING = new LibvirtConnection.State(LibvirtConnection.STATE_RUNNING, 1);
  static final LibvirtConnection.State PAUSED = new LibvirtConnection.State(LibvirtConnection.STATE_PAUSED, 1);
  static final LibvirtConnection.State SHUTOFF = new LibvirtConnection.State(LibvirtConnection.STATE_SHUTOFF, 1);

  @TempDir
  Path work;

  CutStrategy choose(Resource vm, LibvirtConnection.State state, String hypervisor, Capture ctx) throws Exception {
    MockedDomain d = new MockedDomain(work, vm);
    CapturePreparation.Choice choice = CapturePreparation.choose(d.member, state, hypervisor, ctx);
    return choice.apply(d.member, new PreparedDomain(MockedDomain.UUID, state, List.of(), Set.of(), Set.of()));
  }

  @Test
  void aShutOffDomainIsCopiedOfflineInEitherMode() throws Exception {
    for (CaptureMode mode : CaptureMode.values()) {
      Capture ctx = new Capture(MockedDomain.vm(Map.of()), mode);
      CutStrategy s = choose(MockedDomain.vm(Map.of()), SHUTOFF, "QEMU", ctx);
      assertInstanceOf(OfflineCut.class, s, mode.toString());
      assertEquals(List.of(), ctx.notes());
    }
  }

  @Test
  void blockingModeSavesAnImageWithoutANote() throws Exception {
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING);
    assertInstanceOf(SaveImageCut.class, choose(MockedDomain.vm(Map.of()), RUNNING, "QEMU", ctx));
    assertEquals(List.of(), ctx.notes(), "blocking mode asked for it: no fallback to note");
  }

  @Test
  void aHypervisorWithoutLiveSnapshotsFallsBackToASaveImageAndSaysSo() throws Exception {
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING);
    assertInstanceOf(SaveImageCut.class, choose(MockedDomain.vm(Map.of()), RUNNING, "Xen", ctx));
    assertEquals(1, ctx.notes().size());
    assertTrue(ctx.notes().get(0).contains("libvirt's Xen driver has no live external snapshots"), ctx.notes().get(0));
  }

  @Test
  void aDomainPausedBeforeTheCaptureIsSavedNotSnapshotted() throws Exception {
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING);
    assertInstanceOf(SaveImageCut.class, choose(MockedDomain.vm(Map.of()), PAUSED, "QEMU", ctx));
    assertTrue(ctx.notes().get(0).contains("domain vm1 was paused before the capture"), ctx.notes().toString());
  }

  @Test
  void aRunningQemuDomainIsSnapshottedLiveUnlessItWritesStorageMembersOrAsksForPaused() throws Exception {
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING);
    assertInstanceOf(LiveSnapshotCut.class, choose(MockedDomain.vm(Map.of()), RUNNING, "QEMU", ctx));
    assertInstanceOf(PausedSnapshotCut.class, choose(MockedDomain.vm(Map.of(), "lun"), RUNNING, "QEMU", ctx),
        "a VM that depends on storage stays paused from quiesce to resume by default");
    assertInstanceOf(PausedSnapshotCut.class, choose(MockedDomain.vm(Map.of("cut", "paused")), RUNNING, "qemu", ctx));
    assertInstanceOf(LiveSnapshotCut.class, choose(MockedDomain.vm(Map.of("cut", "live"), "lun"), RUNNING, "QEMU", ctx));
    assertEquals(List.of(), ctx.notes());
  }

  @Test
  void aBadCutPropertyIsRefusedWhateverTheDomainsState() {
    for (LibvirtConnection.State state : List.of(RUNNING, PAUSED, SHUTOFF)) {
      Resource vm = MockedDomain.vm(Map.of("cut", "frozen"));
      InvalidSpecException e = assertThrows(InvalidSpecException.class,
          () -> choose(vm, state, "QEMU", new Capture(vm, CaptureMode.NON_BLOCKING)));
      assertEquals("resources[vm].properties.cut", e.field());
      assertTrue(e.getMessage().contains("'frozen'"), e.getMessage());
    }
  }

  @Test
  void eachStrategyNamesItsMethodImageAndJournalledKind() throws Exception {
    MockedDomain d = new MockedDomain(work);
    PreparedDomain p = MockedDomain.prepared(LibvirtConnection.STATE_RUNNING, null, Set.of());
    List<CutStrategy> all = List.of(new LiveSnapshotCut(d.member, p), new PausedSnapshotCut(d.member, p),
        new SaveImageCut(d.member, p), new OfflineCut());
    // The kinds are in journals that crash repair reads: they keep the names they were written with.
    assertEquals(List.of("LIVE_SNAPSHOT", "PAUSED_SNAPSHOT", "SAVE_IMAGE", "OFFLINE"),
        all.stream().map(CutStrategy::kind).toList());
    assertEquals(List.of("live-external-snapshot", "paused-external-snapshot", "save-image", "offline-disk-copy"),
        all.stream().map(CutStrategy::method).toList());
    assertEquals(List.of("snapshot", "snapshot", "save", "none"), all.stream().map(CutStrategy::image).toList());
    assertEquals(List.of(true, true, false, false), all.stream().map(CutStrategy::redirectsLuns).toList());
  }

  @Test
  void anOfflineCutTouchesNothingAndLeavesTheDefinitionToTheTransfer() throws Exception {
    MockedDomain d = new MockedDomain(work);
    OfflineCut offline = new OfflineCut();
    offline.quiesce();
    Cut cut = offline.cut(new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING), "cp1", Map.of("kind", "OFFLINE"));
    offline.resume();
    assertFalse(cut.live());
    assertEquals(Map.of("kind", "OFFLINE"), cut.artefacts());
    assertTrue(offline.memory(cut).isEmpty());
    verifyNoInteractions(d.domain);
  }

  @Test
  void releaseGoesByTheKindItsArtefactsRecordWithoutAPreparedStrategy() throws Exception {
    MockedDomain d = new MockedDomain(work).inState(LibvirtConnection.STATE_SHUTOFF);
    DomainDriver fresh = new DomainDriver(MockedDomain.vm(Map.of()), ResourceProviderContract.providerContext(work),
        d.connections);
    fresh.release(new Cut(false, Map.of("kind", OfflineCut.KIND, "uuid", MockedDomain.UUID)));
    fresh.release(new Cut(false, Map.of()));
    verifyNoInteractions(d.conn);

    // A save image left by a capture that died before resume: crash repair starts the domain from it.
    Path image = Files.writeString(Files.createDirectories(d.work).resolve(MockedDomain.UUID + "-cp1.save"), "image");
    fresh.release(new Cut(false, Map.of("kind", SaveImageCut.KIND, "uuid", MockedDomain.UUID, "domain", "vm1",
        "image", image.toString(), "running", "true")));
    verify(d.conn).restoreImage(eq(image), isNull(), eq(LibvirtNative.SAVE_RUNNING), eq("vm"), anyString());
    assertFalse(Files.exists(image));
  }
}
