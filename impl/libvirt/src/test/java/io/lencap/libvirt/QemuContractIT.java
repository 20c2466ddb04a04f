package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

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
    CounterGuest.requireQemu();
    guest = CounterGuest.define("lencap-it-tck", 4 << 20);
    guest.domain().create();
    guest.awaitCounter(n -> n >= 1, Duration.ofSeconds(120));
  }

  @AfterAll
  static void removeGuest() {
    if (guest != null) {
      guest.close();
    }
    PROVIDER.close();
  }

  @Override
  protected ResourceProvider provider() {
    return PROVIDER;
  }

  @Override
  protected Resource resource() throws Exception {
    if (guest.domain().isActive() != 1) {
      guest.domain().create();
    }
    return guest.resource("vm");
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
    return HexFormat.of().formatHex(md.digest()) + "/" + guest.domain().getInfo().state;
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
}
