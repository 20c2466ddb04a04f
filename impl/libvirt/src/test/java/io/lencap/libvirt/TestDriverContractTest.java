package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The provider TCK over libvirt's test driver: the save-image path (the one Xen takes) with a real,
 * file-backed disk. The QEMU path has its own TCK run, {@link QemuContractIT}.
 */
class TestDriverContractTest extends ResourceProviderContract {
  private static final LibvirtProvider PROVIDER = new LibvirtProvider();

  @TempDir
  Path disks;
  private final List<String> domains = new ArrayList<>();
  private final Random random = new Random(7);

  @Override
  protected ResourceProvider provider() {
    return PROVIDER;
  }

  @Override
  protected Resource resource() throws Exception {
    String name = TestDriver.name("tck");
    Path disk = disks.resolve(name + ".img");
    byte[] data = new byte[4 << 20];
    random.nextBytes(data);
    Files.write(disk, data);
    TestDriver.start(name, disk);
    domains.add(name);
    return Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
        .property("domain", name).build();
  }

  @Override
  protected void mutate(Resource resource) throws Exception {
    byte[] data = new byte[4096];
    random.nextBytes(data);
    try (var ch = java.nio.channels.FileChannel.open(disk(resource), java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(data), 8192);
    }
  }

  @Override
  protected String fingerprint(Resource resource) throws Exception {
    String name = resource.property("domain").orElseThrow();
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(Files.readAllBytes(disk(resource)));
    return HexFormat.of().formatHex(md.digest()) + "/" + TestDriver.connection().domainLookupByName(name).getInfo().state;
  }

  private Path disk(Resource r) {
    return disks.resolve(r.property("domain").orElseThrow() + ".img");
  }

  /**
   * Not run here: the test driver cannot restore a domain under another name, so there is no sandbox to discard.
   * {@link DomainDiscardTest} removes domains on the test driver, and {@link QemuContractIT} runs this case on QEMU.
   */
  @Override
  protected void aDiscardedRestoreIsGoneAndTheOriginalUntouched() {}

  @AfterEach
  void removeDomains() {
    domains.forEach(TestDriver::remove);
  }

  @AfterAll
  static void closeProvider() {
    PROVIDER.close();
  }
}
