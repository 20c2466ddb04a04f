package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapException;
import io.lencap.api.MemberCheckpoint;
import io.lencap.spi.Cut;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.testing.Components;
import io.lencap.testing.HostCommand;
import io.lencap.testing.SecondHost;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A counter guest on host B ({@code scripts/setup/hostb.sh}), whose files this process cannot see, captured through
 * libvirt's pull-mode backup: the disk bytes come over NBD from host B's QEMU, never through a path opened here.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class RemoteCaptureIT {
  static final String GUEST = "lencap-remote-it";
  static final Pattern COUNTER = Pattern.compile("^COUNTER (\\d+)");
  static final Pattern RATE = Pattern.compile("\\((\\d+) bytes at ([0-9.]+) MB/s\\)");

  @TempDir
  Path work;

  SecondHost hostB;
  LibvirtProvider provider;

  @BeforeEach
  void requireHostB() throws Exception {
    hostB = SecondHost.inProject();
    Components.require(hostB.unavailable());
    hostB.define(GUEST);
    provider = new LibvirtProvider();
  }

  @AfterEach
  void removeGuest() throws Exception {
    if (provider != null) {
      provider.close();
    }
    if (hostB != null) {
      hostB.restart(); // a test that killed libvirtd leaves it to come back here
      hostB.remove(GUEST);
      hostB.removeCaptureVolumes();
    }
  }

  @Test
  void aRunningGuestOnHostBIsCapturedNonBlockingOverNbd() throws Exception {
    hostB.start(GUEST);
    hostB.awaitCounter(GUEST, 2, SecondHostIT.WAIT);
    Path disk = SecondHost.IMAGES.resolve(GUEST + ".qcow2");
    assertFalse(Files.exists(disk), disk + " is visible here: the test would not prove anything");

    Capture ctx = new Capture(hostB.resource(GUEST), CaptureMode.NON_BLOCKING);
    ResourceDriver driver = provider.open(hostB.resource(GUEST), context());
    driver.prepare(ctx);
    assertEquals("paused-pull-backup", ctx.method());
    driver.quiesce();
    Cut cut = driver.cut(ctx);
    byte[] atCut;
    int lastAtCut;
    try {
      atCut = guestView(); // the domain is paused: its disk is the cut's
      List<Integer> seen = hostB.counters(GUEST);
      lastAtCut = seen.get(seen.size() - 1);
    } finally {
      driver.resume();
    }
    // Non-blocking: the guest runs and writes its disk again before the transfer reads the cut.
    hostB.awaitCounter(GUEST, lastAtCut + 2, SecondHostIT.WAIT);
    driver.transfer(cut, ctx);
    driver.release(cut);

    StoredState stored = ctx.sink().seal();
    byte[] read = bytes(stored, stored.entry("disks/vda").orElseThrow());
    assertEquals(atCut.length, read.length, "the export's size");
    assertArrayEquals(atCut, read, "the bytes read over NBD are the disk at the cut (vol-download while paused)");
    Matcher m = COUNTER.matcher(new String(read, 0, 32, StandardCharsets.US_ASCII));
    assertTrue(m.find(), "sector 0 holds a counter");
    assertTrue(Integer.parseInt(m.group(1)) <= lastAtCut, "sector 0 after the cut: " + m.group(1) + " > " + lastAtCut);
    StoredEntry memory = stored.entry(DomainDriver.MEMORY).orElseThrow();
    byte[] image = bytes(stored, memory);
    assertEquals("LibvirtQemudSave", new String(image, 0, 16, StandardCharsets.US_ASCII), "a save image");
    assertTrue(image.length > 16 << 20, "the guest's memory: " + image.length + " bytes");
    String note = ctx.notes().stream().filter(n -> n.startsWith("disks read over NBD")).findFirst()
        .orElseThrow(() -> new AssertionError("no transfer note in " + ctx.notes()));
    assertTrue(note.contains("memory saved by QEMU into volume"), note);
    Matcher rate = RATE.matcher(note);
    assertTrue(rate.find(), note);
    System.out.printf("remote capture over NBD: %s bytes at %s MB/s; notes %s%n", rate.group(1), rate.group(2),
        ctx.notes());
    assertNoJobLeft();
    int after = lastCounter();
    hostB.awaitCounter(GUEST, after + 1, SecondHostIT.WAIT); // running on after the release
  }

  @Test
  void theEngineCommitsANonBlockingCaptureOfAGuestOnHostB() throws Exception {
    hostB.start(GUEST);
    hostB.awaitCounter(GUEST, 1, SecondHostIT.WAIT);
    Encapsulation job = CounterGuestIT.group("remote", CaptureMode.NON_BLOCKING, hostB.resource(GUEST));
    try (Lencap lencap = Lencap.builder().store(work.resolve("store")).build()) {
      long t0 = System.nanoTime();
      Checkpoint cp = CounterGuestIT.await(lencap.capture(job));
      long wall = System.nanoTime() - t0;
      MemberCheckpoint m = cp.member(GUEST).orElseThrow();
      assertEquals("paused-pull-backup", m.method());
      assertTrue(m.notes().stream().anyMatch(n -> n.contains("downloaded through a libvirt stream")),
          m.notes().toString());
      assertEquals(List.of(cp.id()), CounterGuestIT.await(lencap.checkpoints("remote")).stream()
          .map(Checkpoint::id).toList());
      System.out.printf("engine capture of a guest on host B: pause %d ms, %d logical bytes, %d stored, %d ms "
          + "in all%n", cp.pause().toMillis(), m.logicalBytes(), m.storedBytes(), wall / 1_000_000);
    }
    assertNoJobLeft();
    int last = lastCounter();
    hostB.awaitCounter(GUEST, last + 1, SecondHostIT.WAIT);
  }

  @Test
  void hostBsLibvirtdKilledMidTransferFailsItCleanlyAndTheNextCaptureWorks() throws Exception {
    hostB.start(GUEST);
    hostB.awaitCounter(GUEST, 1, SecondHostIT.WAIT);
    AtomicInteger checks = new AtomicInteger();
    Capture ctx = new Capture(hostB.resource(GUEST), CaptureMode.NON_BLOCKING).onCheck(() -> {
      if (checks.incrementAndGet() == 16) { // 4 MiB into the 32 MiB disk
        try {
          hostB.killLibvirtd();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
    });
    ResourceDriver driver = provider.open(hostB.resource(GUEST), context());
    driver.prepare(ctx);
    driver.quiesce();
    Cut cut = driver.cut(ctx);
    driver.resume();
    LencapException e = assertThrows(LencapException.class, () -> driver.transfer(cut, ctx));
    assertTrue(checks.get() >= 16, "libvirtd was killed during the transfer");
    System.out.println("transfer with host B's libvirtd killed 4 MiB into the disk: " + e);
    assertFalse(e.getMessage().contains("10.231.0.2/system?"), "no connection parameters in " + e.getMessage());
    hostB.restart();
    driver.release(cut);
    assertNoJobLeft();
    int last = lastCounter();
    hostB.awaitCounter(GUEST, last + 1, SecondHostIT.WAIT); // resumed, and running

    Capture next = new Capture(hostB.resource(GUEST), CaptureMode.NON_BLOCKING);
    ResourceDriver again = provider.open(hostB.resource(GUEST), context());
    again.prepare(next);
    again.quiesce();
    Cut c2 = again.cut(next);
    again.resume();
    again.transfer(c2, next);
    again.release(c2);
    assertEquals(32L << 20, next.sink().seal().entry("disks/vda").orElseThrow().size());
    assertNoJobLeft();
  }

  @Test
  void aShutOffGuestOnHostBFailsInPrepareNamingTheMember() throws Exception {
    Capture ctx = new Capture(hostB.resource(GUEST), CaptureMode.NON_BLOCKING);
    ResourceDriver driver = provider.open(hostB.resource(GUEST), context());
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> driver.prepare(ctx));
    assertEquals("resources[" + GUEST + "]", e.field());
    assertTrue(e.getMessage().contains("shut off on a remote host"), e.getMessage());
  }

  private int lastCounter() throws Exception {
    List<Integer> seen = hostB.counters(GUEST);
    return seen.get(seen.size() - 1);
  }

  /** No backup job on the guest, and no scratch image or memory volume left in host B's pool. */
  private void assertNoJobLeft() throws Exception {
    assertThrows(IOException.class, () -> hostB.virsh("backup-dumpxml", GUEST), "a backup job is left");
    hostB.virsh("pool-refresh", SecondHost.POOL); // the pool's list may be older than the job's end
    String volumes = hostB.virsh("vol-list", SecondHost.POOL);
    assertFalse(volumes.contains("scratch"), "a scratch image is left: " + volumes);
    assertFalse(volumes.contains(".mem"), "a memory volume is left: " + volumes);
  }

  /** The guest's disk as the guest sees it, downloaded through libvirt and converted here. */
  private byte[] guestView() throws Exception {
    Path qcow2 = work.resolve("download-" + System.nanoTime() + ".qcow2");
    Path raw = work.resolve("view-" + System.nanoTime() + ".raw");
    hostB.virsh("vol-download", "--pool", SecondHost.POOL, GUEST + ".qcow2", qcow2.toString());
    HostCommand.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), raw.toString());
    try {
      return Files.readAllBytes(raw);
    } finally {
      Files.delete(raw);
      Files.delete(qcow2);
    }
  }

  private static byte[] bytes(StoredState state, StoredEntry entry) throws IOException {
    try (InputStream in = state.open(entry)) {
      return in.readAllBytes();
    }
  }

  private ProviderContext context() {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return work;
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }
}
