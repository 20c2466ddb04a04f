package io.lencap.iscsi.address;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The locator grammar as other modules write and read it, and the one package the iSCSI module shares. */
class IscsiLocatorTest {

  @Test
  void aLocatorIsWrittenInTheUrlFormWithItsPort() {
    assertEquals(URI.create("iscsi://san.example:3261/iqn.2024-01.example:disk/1"),
      IscsiLocator.of("san.example", 3261, "iqn.2024-01.example:disk/1"));
  }

  @Test
  void anIpv6HostIsBracketedInTheLocatorAndBareAsAnAddress() {
    URI locator = IscsiLocator.of("fd00::5", 3260, "iqn.2024-01.example:disk/0");
    assertEquals("iscsi://[fd00::5]:3260/iqn.2024-01.example:disk/0", locator.toString());
    assertEquals("fd00::5", IscsiLocator.host(locator));
    assertEquals(locator, IscsiLocator.of("[fd00::5]", 3260, "iqn.2024-01.example:disk/0"));
  }

  @Test
  void partsAreReadBackWithTheDefaultPort() {
    URI locator = URI.create("iscsi://10.0.0.5/iqn.2026-11.org.example:scratch/1");
    assertEquals("10.0.0.5", IscsiLocator.host(locator));
    assertEquals(3260, IscsiLocator.port(locator));
    assertEquals("iqn.2026-11.org.example:scratch/1", IscsiLocator.target(locator));
    assertEquals(URI.create("iscsi://10.0.0.5:3260/iqn.2026-11.org.example:scratch/1"),
      IscsiLocator.of(IscsiLocator.host(locator), IscsiLocator.port(locator), IscsiLocator.target(locator)));
  }

  @Test
  void whatCannotBeALocatorIsRefusedNamingThePart() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> IscsiLocator.of("", 3260, "iqn.x/0"))
      .getMessage().contains("host"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> IscsiLocator.of("h", 0, "iqn.x/0"))
      .getMessage().contains("port 0"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> IscsiLocator.of("h", 3260, ""))
      .getMessage().contains("target"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> IscsiLocator.of("h", 3260, "iqn x/0"))
      .getMessage().contains("iqn x/0"));
  }

  @Test
  void theChapKeysAreTheDocumentedOnes() {
    assertEquals(Set.of("chap.user", "chap.secret", "chap.targetUser", "chap.targetSecret"),
      Set.of(IscsiLocator.CHAP_USER, IscsiLocator.CHAP_SECRET, IscsiLocator.CHAP_TARGET_USER,
        IscsiLocator.CHAP_TARGET_SECRET));
  }

  @Test
  void theModuleSharesOnlyThisPackageAndOnlyWithTheLibvirtProvider() throws Exception {
    Path classes = Path.of(IscsiLocator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ModuleDescriptor module = ModuleFinder.of(classes).findAll().iterator().next().descriptor();
    Set<String> exports = new TreeSet<>();
    module.exports().forEach(e -> exports.add(e.source() + (e.isQualified() ? " to " + e.targets() : "")));
    assertEquals(Set.of("io.lencap.iscsi.address to [io.lencap.libvirt]"), exports);
  }
}
