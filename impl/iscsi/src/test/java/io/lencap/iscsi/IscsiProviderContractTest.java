package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Resource;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** The provider TCK over jSCSI's in-process target (a 4 MiB LUN, random content). */
class IscsiProviderContractTest extends ResourceProviderContract {

  static final long SIZE = 4L << 20;

  @TempDir
  static Path dir;
  static JscsiTarget target;
  /** A second LUN, a drill's sandbox. */
  static JscsiTarget sandboxTarget;
  static Path file;
  private final Random random = new Random(1);

  @BeforeAll
  static void start() throws Exception {
    file = dir.resolve("lun.img");
    target = new JscsiTarget(file, SIZE);
    sandboxTarget = new JscsiTarget(dir.resolve("sandbox.img"), SIZE);
  }

  @AfterAll
  static void stop() throws Exception {
    target.close();
    sandboxTarget.close();
  }

  @BeforeEach
  void fillWithRandomContent() throws Exception {
    byte[] data = new byte[(int) SIZE];
    random.nextBytes(data);
    try (IscsiSession s = session()) {
      s.write(0, ByteBuffer.wrap(data));
    }
  }

  private static IscsiSession session() throws IscsiException {
    return IscsiSession.open(LunAddress.parse(target.locator(0)), Optional.empty(), IscsiSession.Options.defaults());
  }

  @Override
  protected ResourceProvider provider() {
    return new IscsiProvider();
  }

  @Override
  protected Resource resource() {
    return lun(target.locator(0));
  }

  @Override
  protected Optional<Resource> sandbox(Resource original) {
    return Optional.of(lun(sandboxTarget.locator(0)));
  }

  /** With {@link JscsiTarget#QUEUE_DEPTH} commands in flight. */
  private static Resource lun(URI locator) {
    return Resource.builder("lun").type("block").locator(locator).property(LunSpec.QUEUE_DEPTH,
        Integer.toString(JscsiTarget.QUEUE_DEPTH)).build();
  }

  /** A discarded LUN stays (the target's to delete) but holds nothing: every byte read back through iSCSI is 0. */
  @Override
  protected void assertDiscarded(Resource sandbox) throws Exception {
    long[] nonZero = {0};
    try (IscsiSession s = IscsiSession.open(LunAddress.parse(sandbox.locator()), Optional.empty(),
        IscsiSession.Options.defaults())) {
      s.stream(0, s.sizeBytes(), 256 * 1024, (offset, data) -> {
        while (data.hasRemaining()) {
          nonZero[0] += data.get() == 0 ? 0 : 1;
        }
      });
    }
    assertEquals(0, nonZero[0], "bytes left non-zero on the discarded LUN");
  }

  /** Rewrites one 64 KiB region in the middle through iSCSI. */
  @Override
  protected void mutate(Resource resource) throws Exception {
    byte[] data = new byte[64 * 1024];
    random.nextBytes(data);
    try (IscsiSession s = session()) {
      s.write(SIZE / 2 / 512, ByteBuffer.wrap(data));
    }
  }

  /** SHA-256 of the LUN read through iSCSI. */
  @Override
  protected String fingerprint(Resource resource) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (IscsiSession s = session()) {
      s.stream(0, s.sizeBytes(), 256 * 1024, (offset, data) -> sha.update(data));
    }
    return HexFormat.of().formatHex(sha.digest()) + " file " + Files.size(file);
  }
}
