package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import io.lencap.api.CaptureMode;
import io.lencap.api.LencapException;
import io.lencap.spi.Cut;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Error.ErrorNumber;
import org.mockito.InOrder;

/** The save-image cut on mocked libvirt calls: what it stops, saves and starts again, and its fallbacks. */
class SaveImageCutTest {
  @TempDir
  Path tmp;

  static LencapException libvirtError(ErrorNumber code) {
    return LibvirtErrors.translate(LibvirtErrorsTest.error(code), "vm", "saving", null);
  }

  SaveImageCut strategy(MockedDomain d, int state) {
    return new SaveImageCut(d.member, MockedDomain.prepared(state, null, Set.of()));
  }

  Map<String, String> artefacts() {
    return new TreeMap<>(Map.of("kind", SaveImageCut.KIND, "domain", "vm1", "uuid", MockedDomain.UUID));
  }

  @Test
  void aRunningDomainIsSuspendedSavedPausedAndStartedAgainRunningOnce() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_RUNNING);
    SaveImageCut s = strategy(d, LibvirtConnection.STATE_RUNNING);
    s.quiesce();
    verify(d.domain).suspend();

    Cut cut = s.cut(new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING), "cp1", artefacts());
    Path image = d.work.resolve(MockedDomain.UUID + "-cp1.save");
    assertFalse(cut.live(), "the engine copies the image and disks before resume");
    assertEquals(image.toString(), cut.artefacts().get("image"));
    assertEquals("true", cut.artefacts().get("running"));
    assertEquals(Optional.of(image), s.memory(cut));
    verify(d.conn).saveImage(eq(MockedDomain.UUID), eq(image), eq(LibvirtNative.SAVE_PAUSED), eq("vm"), anyString());

    s.resume();
    s.resume(); // idempotent: the image is started from once
    verify(d.conn, times(1)).restoreImage(eq(image), isNull(), eq(LibvirtNative.SAVE_RUNNING), eq("vm"), anyString());
  }

  @Test
  void aDomainPausedBeforeTheCaptureStaysPaused() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_PAUSED);
    SaveImageCut s = strategy(d, LibvirtConnection.STATE_PAUSED);
    s.quiesce();
    Cut cut = s.cut(new Capture(MockedDomain.vm(Map.of()), CaptureMode.NON_BLOCKING), "cp1", artefacts());
    assertEquals("false", cut.artefacts().get("running"));
    s.resume();
    verify(d.domain, never()).suspend();
    verify(d.conn).restoreImage(any(), isNull(), eq(LibvirtNative.SAVE_PAUSED), eq("vm"), anyString());
    verify(d.domain, never()).resume();
  }

  @Test
  void driversWithoutSaveFlagsSaveAndStartWithout() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_PAUSED);
    doThrow(libvirtError(ErrorNumber.VIR_ERR_INVALID_ARG)).when(d.conn)
        .saveImage(anyString(), any(), eq(LibvirtNative.SAVE_PAUSED), anyString(), anyString());
    doThrow(libvirtError(ErrorNumber.VIR_ERR_INVALID_ARG)).when(d.conn)
        .restoreImage(any(), isNull(), eq(LibvirtNative.SAVE_PAUSED), anyString(), anyString());
    SaveImageCut s = strategy(d, LibvirtConnection.STATE_PAUSED);
    Cut cut = s.cut(new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING), "cp1", artefacts());
    verify(d.conn).saveImage(anyString(), any(), eq(0), anyString(), anyString());
    s.resume();
    // Without flags the image starts running: it is paused again, as it was.
    InOrder order = inOrder(d.conn, d.domain);
    order.verify(d.conn).restoreImage(eq(Path.of(cut.artefacts().get("image"))), isNull(), eq(0), eq("vm"), anyString());
    order.verify(d.domain).suspend();
  }

  @Test
  void otherSaveErrorsAreNotRetried() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_RUNNING);
    LencapException refused = libvirtError(ErrorNumber.VIR_ERR_OPERATION_FAILED);
    doThrow(refused).when(d.conn).saveImage(anyString(), any(), anyInt(), anyString(), anyString());
    SaveImageCut s = strategy(d, LibvirtConnection.STATE_RUNNING);
    assertSame(refused, assertThrows(LencapException.class,
        () -> s.cut(new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING), "cp1", artefacts())));
    verify(d.conn, times(1)).saveImage(anyString(), any(), anyInt(), anyString(), anyString());
    s.resume(); // nothing was saved: nothing to start from, the running domain is only resumed if paused
    verify(d.conn, never()).restoreImage(any(), any(), anyInt(), anyString(), anyString());
  }

  @Test
  void releaseStartsADomainLeftStoppedFromItsImageThenDeletesIt() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_SHUTOFF);
    Files.createDirectories(d.work);
    Path image = Files.writeString(d.work.resolve(MockedDomain.UUID + "-cp1.save"), "image");
    Map<String, String> a = artefacts();
    a.put("image", image.toString());
    a.put("running", "true");
    SaveImageCut.release(d.member, a);
    verify(d.conn).restoreImage(eq(image), isNull(), eq(LibvirtNative.SAVE_RUNNING), eq("vm"), anyString());
    assertFalse(Files.exists(image));
  }

  @Test
  void releaseRefusesAnImageOutsideTheWorkDirectory() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_SHUTOFF);
    Path elsewhere = Files.writeString(tmp.resolve(MockedDomain.UUID + "-cp1.save"), "not ours");
    Map<String, String> a = artefacts();
    a.put("image", elsewhere.toString());
    assertThrows(LencapException.class, () -> SaveImageCut.release(d.member, a));
    verify(d.conn, never()).restoreImage(any(), any(), anyInt(), anyString(), anyString());
    assertEquals("not ours", Files.readString(elsewhere));
  }
}
