package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.when;

import io.lencap.api.CaptureMode;
import io.lencap.spi.Cut;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a cut domain's disks are transferred: two at a time, and the first failure is the transfer's. */
class DomainTransferTest {
  @TempDir Path tmp;

  @Test
  void disksAreReadTwoAtATimeAndEachIsStoredWhole() throws Exception {
    Path[] disks = {disk("a", 3 << 20), disk("b", 3 << 20), disk("c", 3 << 20)};
    MockedDomain d = shutOff();
    // Each reader waits at its first block until a second reader has started: one at a time never gets past it.
    CountDownLatch two = new CountDownLatch(2);
    Set<Thread> readers = ConcurrentHashMap.newKeySet();
    Set<Boolean> together = ConcurrentHashMap.newKeySet();
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING).onCheck(() -> {
      if (readers.add(Thread.currentThread())) {
        two.countDown();
        try {
          together.add(two.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });

    new DomainTransfer(d.member, prepared(disks), Optional.empty()).transfer(Cut.inPlace(), Optional.empty(), ctx);

    assertEquals(Set.of(true), together, "two disks were read at once");
    assertEquals(2, readers.size());
    StoredState stored = ctx.sink().seal();
    for (int i = 0; i < disks.length; i++) {
      try (InputStream in = stored.open(stored.entry(DomainDriver.DISKS + "vd" + (char) ('a' + i)).orElseThrow())) {
        assertArrayEquals(Files.readAllBytes(disks[i]), in.readAllBytes(), "disk " + i);
      }
    }
    assertTrue(stored.entry(DomainDriver.DEFINITION).isPresent(), "a shut-off domain's definition");
  }

  @Test
  void aDiskThatCannotBeReadFailsTheTransferWithItsOwnErrorWhicheverReaderHadIt() throws Exception {
    Path unreadable = Files.createDirectory(tmp.resolve("not-an-image"));
    Path[] disks = {disk("a", 8 << 20), unreadable, disk("c", 1 << 20)};
    MockedDomain d = shutOff();
    Capture ctx = new Capture(MockedDomain.vm(Map.of()), CaptureMode.BLOCKING);

    IOException e = assertThrows(IOException.class, () -> new DomainTransfer(d.member, prepared(disks),
        Optional.empty()).transfer(Cut.inPlace(), Optional.empty(), ctx));

    assertTrue(e.getMessage().contains("directory"), e.getMessage()); // the reader's, not another's stop
    assertFalse(ctx.sink().seal().attributes().containsKey("disks"), "a failed transfer records no disk list");
  }

  private MockedDomain shutOff() throws Exception {
    MockedDomain d = new MockedDomain(tmp).inState(LibvirtConnection.STATE_SHUTOFF);
    when(d.domain.getXMLDesc(anyInt())).thenReturn("<domain type='kvm'><name>vm1</name></domain>");
    return d;
  }

  private Path disk(String name, int size) throws IOException {
    byte[] b = new byte[size];
    new Random(name.hashCode()).nextBytes(b);
    return Files.write(tmp.resolve(name + ".img"), b);
  }

  /** A shut-off domain whose raw disks vda, vdb, … are {@code files}. */
  private static PreparedDomain prepared(Path... files) {
    StringBuilder xml = new StringBuilder("<domain><devices>");
    for (int i = 0; i < files.length; i++) {
      xml.append("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='").append(files[i])
          .append("'/><target dev='vd").append((char) ('a' + i)).append("' bus='virtio'/></disk>");
    }
    return MockedDomain.prepared(LibvirtConnection.STATE_SHUTOFF, xml.append("</devices></domain>").toString(),
        Set.of());
  }
}
