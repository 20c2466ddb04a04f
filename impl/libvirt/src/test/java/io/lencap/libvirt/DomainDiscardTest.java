package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drill's removal of a restored domain, over libvirt's test driver (which cannot restore under a new name, so
 * the TCK's discard case runs against QEMU in {@link QemuContractIT}): the domain goes, the files a restore names
 * for it in its directory go, nothing else does.
 */
class DomainDiscardTest {
  private static final LibvirtProvider PROVIDER = new LibvirtProvider();

  @TempDir
  Path dir;

  @Test
  void removesTheDomainAndItsRestoredFilesOnly() throws Exception {
    String name = TestDriver.name("sandbox");
    String other = TestDriver.name("original");
    Path disk = Files.write(dir.resolve(name + "-vda.raw"), new byte[4096]);
    Path console = Files.writeString(dir.resolve(name + "-serial0.log"), "console");
    Files.writeString(dir.resolve(name + "-vda.raw.lencap-restore"), "staged");
    Path otherDisk = Files.write(dir.resolve(other + "-vda.raw"), new byte[4096]);
    Path unrelated = Files.writeString(dir.resolve(name + "-notes.txt"), "not a restore's");
    // Named like a restore's file of this domain, but another domain's ("web-db-vda" beside "web"): kept.
    Path lookalike = Files.write(dir.resolve(name + "-db-vda.raw"), new byte[4096]);
    TestDriver.start(name, disk, "<serial type='file'><source path='" + console + "'/><target port='0'/></serial>");
    TestDriver.start(other, otherDisk);
    try {
      Resource sandbox = vm(name, dir.toString());
      PROVIDER.discarder(sandbox, ResourceProviderContract.providerContext(dir)).orElseThrow().discard();

      assertThrows(NotFoundException.class, () -> probeDomain(name));
      try (Stream<Path> left = Files.list(dir)) {
        assertEquals(List.of(otherDisk, unrelated, lookalike).stream().sorted().toList(), left.sorted().toList());
      }
      assertEquals(1, TestDriver.connection().domainLookupByName(other).isActive(), "the other domain stopped");
      PROVIDER.discarder(sandbox, ResourceProviderContract.providerContext(dir)).orElseThrow().discard(); // idempotent
    } finally {
      TestDriver.remove(name);
      TestDriver.remove(other);
    }
  }

  @Test
  void refusesADomainWithoutARestoreDirectory() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> PROVIDER.discarder(vm("vm1", null), ResourceProviderContract.providerContext(dir)));
    assertEquals("resources[vm].properties.restore.directory", e.field());
    assertTrue(e.getMessage().contains("directory of its own"), e.getMessage());
  }

  private static void probeDomain(String name) {
    LibvirtErrors.run("vm", "looking up " + name, () -> TestDriver.connection().domainLookupByName(name));
  }

  private static Resource vm(String domain, String directory) {
    Resource.Builder b = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
        .property("domain", domain);
    return (directory == null ? b : b.property("restore.directory", directory)).build();
  }

  @AfterAll
  static void closeProvider() {
    PROVIDER.close();
  }
}
