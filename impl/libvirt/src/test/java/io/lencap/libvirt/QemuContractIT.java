package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.testing.CounterGuest;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The provider TCK on real libvirt + QEMU: one running counter guest for the class, with a raw data disk
 * (vdb) the guest never touches; its content and the domain's state are the fingerprint, and tests
 * change it by writing into the file.
 */
class QemuContractIT extends ResourceProviderContract {
  private static final LibvirtProvider PROVIDER = new LibvirtProvider();
  private static CounterGuest guest;
  private final Random random = new Random();

  @BeforeAll
  static void bootGuest() throws Exception {
    // A sparse raw data disk: 4 MiB of random bytes, then a 4 MiB hole that captures take as zeros unread.
    guest = QemuSystem.guests().define("lencap-it-tck", 8L << 20, 4L << 20, "raw");
    QemuSystem.domain(guest).create();
    guest.awaitCounter(n -> n >= 1, Duration.ofSeconds(120));
  }

  @AfterAll
  static void removeGuest() throws Exception {
    try {
      if (guest != null) {
        guest.close();
      }
    } finally {
      PROVIDER.close();
    }
  }

  @Override
  protected ResourceProvider provider() {
    return PROVIDER;
  }

  @Override
  protected Resource resource() throws Exception {
    if (QemuSystem.domain(guest).isActive() != 1) {
      QemuSystem.domain(guest).create();
    }
    return guest.resource("vm");
  }

  /** A domain of its own name with its disks in a directory of its own, as a drill places it. */
  @Override
  protected Optional<Resource> sandbox(Resource original) {
    return Optional.of(Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(original.locator())
        .property("domain", "lencap-it-tck-sandbox")
        .property(DiskTargets.DIRECTORY, guest.directory().resolve("sandbox").toString()).build());
  }

  @Override
  protected void mutate(Resource resource) throws Exception {
    byte[] b = new byte[4096];
    random.nextBytes(b);
    try (FileChannel ch = FileChannel.open(guest.data(), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(b), 65536);
    }
  }

  @Override
  protected String fingerprint(Resource resource) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(Files.readAllBytes(guest.data()));
    return HexFormat.of().formatHex(md.digest()) + "/" + QemuSystem.domain(guest).getInfo().state;
  }

  /**
   * A running guest's memory image changes between two captures, and QEMU's stream shifts every page after one
   * that turned zero or non-zero: fixed-size chunks share nothing after such a shift (from 21% to 91% of the
   * first capture stored again), so the memory image is chunked by content, here as in the store. The disks are
   * unchanged and shared whole.
   */
  @Override
  protected double maxUnchangedRecaptureRatio() {
    return 0.9;
  }

  /** The sparse data disk's capture steps over its hole, as the file system reports it, and reads the rest. */
  @Test
  void aSparseRawDiskIsCapturedWithoutReadingItsHole() throws Exception {
    Resource r = resource();
    Capture ctx = new Capture(r, CaptureMode.NON_BLOCKING);
    try (ResourceDriver driver = PROVIDER.open(r, context())) {
      driver.prepare(ctx);
      driver.quiesce();
      Cut cut;
      try {
        cut = driver.cut(ctx);
      } finally {
        driver.resume();
      }
      try {
        driver.transfer(cut, ctx);
      } finally {
        driver.release(cut);
      }
    }
    String note = ctx.notes().stream().filter(n -> n.startsWith("disk vdb: read whole")).findFirst()
        .orElseThrow(() -> new AssertionError("no note on vdb's read: " + ctx.notes()));
    Matcher m = Pattern.compile("\\((\\d+) bytes\\) as its image file holds them(?: but for (\\d+) bytes of holes)?")
        .matcher(note);
    assertTrue(m.find(), note);
    assertEquals(8L << 20, Long.parseLong(m.group(1)), note);
    if (Set.of("ext4", "xfs", "btrfs", "tmpfs").contains(Files.getFileStore(guest.data()).type())) {
      // the random 4 MiB and the last block (written to give the file its size) are data
      assertTrue(m.group(2) != null && Long.parseLong(m.group(2)) >= (4L << 20) - (64 << 10), note);
    }
  }

  /**
   * A live cut reports the guest's own pause (libvirt's SUSPENDED to RESUMED), which the checkpoint shows instead of
   * quiesce to resume: shorter than the cut call that contains it, and what the stored attribute records.
   */
  @Test
  void aLiveCutReportsTheGuestsMeasuredPause() throws Exception {
    Resource r = resource();
    Capture ctx = new Capture(r, CaptureMode.NON_BLOCKING);
    try (ResourceDriver driver = PROVIDER.open(r, context())) {
      driver.prepare(ctx);
      driver.quiesce();
      long start = System.nanoTime();
      Cut cut;
      try {
        cut = driver.cut(ctx);
      } finally {
        driver.resume();
      }
      long cutNanos = System.nanoTime() - start;
      System.out.printf("live cut of %s: the guest paused %s ms (reported), the cut call took %d ms%n", r.id(),
          ctx.reportedPause().map(p -> Long.toString(p.toMillis())).orElse("no"), cutNanos / 1_000_000);
      try {
        assertEquals("live-external-snapshot", ctx.method());
        Duration paused = ctx.reportedPause().orElseThrow(() -> new AssertionError("no pause reported: " + ctx.notes()));
        assertEquals(Long.toString(paused.toMillis()), ctx.sink().seal().attributes().get("pause.guest.ms"));
        assertTrue(!paused.isNegative() && paused.toNanos() < cutNanos,
            "guest pause " + paused + " within a cut of " + Duration.ofNanos(cutNanos));
      } finally {
        driver.release(cut);
      }
    }
  }
}
