package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Secret;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Domain;

/**
 * The store is not an authority (libvirt's test driver, no daemon): a restore writes only where this host says,
 * starts no stored passthrough, keeps no secret in the store; a release touches only its own artefacts; a capture
 * refuses a disk it cannot capture unless it is excluded.
 */
class StoreTrustTest {
  static final LibvirtProvider PROVIDER = new LibvirtProvider();
  static final String PASSWORD = "Vq83nPwz";

  @TempDir
  Path work;

  ProviderContext context() {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return work.resolve("work");
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  static Resource vm(String domain, Map<String, String> properties) {
    Resource.Builder b = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
        .property("domain", domain);
    properties.forEach(b::property);
    return b.build();
  }

  static String xml(String name, String devices) {
    return "<domain type='test'><name>" + name + "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        + "<os><type arch='x86_64'>hvm</type></os><devices>" + devices + "</devices></domain>";
  }

  static String fileDisk(Path p, String dev) {
    return "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" + p + "'/><target dev='"
        + dev + "' bus='virtio'/></disk>";
  }

  /** A checkpoint as someone who can write the store would plant it: disk vda of the given path and content. */
  static StoredState planted(String definition, Path path, String content) throws Exception {
    MemoryState s = new MemoryState(new MemoryState.Chunks(), "cp1");
    try (var w = s.create(DomainDriver.DEFINITION, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
      byte[] b = definition.getBytes(StandardCharsets.UTF_8);
      w.write(b, 0, b.length);
    }
    try (var w = s.create(DomainDriver.DISKS + "vda", EntryKind.FILE,
        Map.of("dev", "vda", "path", path.toString(), "format", "raw"), Chunking.blocks())) {
      byte[] b = content.getBytes(StandardCharsets.UTF_8);
      w.write(b, 0, b.length);
    }
    s.attribute("domain", "x");
    return s.seal();
  }

  void restore(Resource r, StoredState s) throws Exception {
    try (ResourceDriver d = PROVIDER.open(r, context())) {
      TckRestoreContext rc = new TckRestoreContext(r, r, s);
      d.prepareRestore(rc);
      d.restore(rc);
      d.resume();
    }
  }

  @Test
  void aStoredDiskPathDoesNotChooseTheFileARestoreWrites() throws Exception {
    String name = TestDriver.name("path");
    Path disk = work.resolve("vda.img");
    Path marker = work.resolve("marker");
    Files.writeString(disk, "disk as it is");
    Files.writeString(marker, "marker");
    TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda")));
    try {
      // Both the manifest's path and the stored definition name the marker.
      restore(vm(name, Map.of()), planted(xml(name, fileDisk(marker, "vda")), marker, "restored"));
      assertEquals("marker", Files.readString(marker));
      assertEquals("restored", Files.readString(disk), "onto the replaced domain's own disk");
      Domain d = TestDriver.connection().domainLookupByName(name);
      assertEquals(java.util.Optional.of(disk), DomainXml.parse(d.getXMLDesc(0)).disks().get(0).source());
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void withoutADomainToReplaceTheCallerNamesTheDirectory() throws Exception {
    String name = TestDriver.name("gone");
    Path marker = work.resolve("marker");
    Files.writeString(marker, "marker");
    StoredState s = planted(xml(name, fileDisk(marker, "vda")), marker, "restored");
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> restore(vm(name, Map.of()), s));
    assertEquals("resources[vm].properties.restore.directory", e.field());
    assertEquals("marker", Files.readString(marker));
    Path dir = work.resolve("restored");
    try {
      restore(vm(name, Map.of(DiskTargets.DIRECTORY, dir.toString())), s);
      assertEquals("marker", Files.readString(marker));
      Path expected = dir.resolve(name + "-vda.raw");
      assertEquals("restored", Files.readString(expected));
      assertEquals(java.util.Optional.of(expected), DomainXml.parse(TestDriver.connection().domainLookupByName(name)
          .getXMLDesc(0)).disks().get(0).source());
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void storedPassthroughIsRefusedUnlessTheCallerOptsIn() throws Exception {
    String name = TestDriver.name("passthrough");
    Path disk = work.resolve("vda.img");
    Files.writeString(disk, "disk as it is");
    TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda")));
    try {
      String evil = xml(name, "<emulator>/tmp/evil-emulator</emulator>" + fileDisk(disk, "vda")
          + "<disk type='block' device='disk'><source dev='/dev/sda'/><target dev='vdb'/></disk>")
          .replace("<domain type='test'>", "<domain type='test' xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>")
          .replace("</devices>", "</devices><q:commandline><q:arg value='-evil'/></q:commandline>");
      StoredState s = planted(evil, disk, "restored");
      InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> restore(vm(name, Map.of()), s));
      assertEquals("resources[vm].properties.restore.allowPassthrough", e.field());
      assertTrue(e.getMessage().contains("<q:commandline>"), e.getMessage());
      assertTrue(e.getMessage().contains("/dev/sda"), e.getMessage());
      assertTrue(e.getMessage().contains("restore.allowPassthrough\", \"true\""), e.getMessage());
      assertEquals("disk as it is", Files.readString(disk), "nothing written before the check");
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void theStoredEmulatorIsNeverTheOneThatRuns() throws Exception {
    String name = TestDriver.name("emulator");
    Path disk = work.resolve("vda.img");
    Files.writeString(disk, "disk");
    TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda")));
    try {
      restore(vm(name, Map.of()), planted(xml(name, "<emulator>/tmp/evil-emulator</emulator>" + fileDisk(disk, "vda")),
          disk, "restored"));
      String defined = TestDriver.connection().domainLookupByName(name).getXMLDesc(0);
      assertFalse(defined.contains("evil-emulator"), defined);
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void graphicsPasswordsStayOutOfTheStoreAndComeBackFromThisHost() throws Exception {
    String name = TestDriver.name("secret");
    Path disk = work.resolve("vda.img");
    Files.writeString(disk, "disk");
    String graphics = "<graphics type='vnc' port='-1' autoport='yes' passwd='" + PASSWORD + "'/>";
    TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda") + graphics));
    try {
      Resource r = vm(name, Map.of());
      Capture ctx = new Capture(r, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        d.quiesce();
        Cut cut = d.cut(ctx);
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
      }
      StoredState s = ctx.sink().seal();
      assertFalse(everything(s).contains(PASSWORD), "the password is in the store");
      assertEquals("vnc", s.attributes().get(RestoredXml.GRAPHICS_PROTECTED));
      // In place, the replaced domain keeps its password.
      restore(r, s);
      assertTrue(secureXml(name).contains("passwd='" + PASSWORD + "'"));
      // With no domain to replace, and no password given, the console gets a random one rather than none.
      TestDriver.connection().domainLookupByName(name).undefine();
      restore(vm(name, Map.of(DiskTargets.DIRECTORY, work.resolve("r").toString())), s);
      String restored = secureXml(name);
      assertTrue(restored.contains("passwd='"), restored.replaceAll("passwd='[^']*'", "passwd=..."));
      assertFalse(restored.contains(PASSWORD));
      // The caller's secret when given.
      TestDriver.connection().domainLookupByName(name).undefine();
      Resource given = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
          .property("domain", name).property(DiskTargets.DIRECTORY, work.resolve("r2").toString())
          .secret(RestoredXml.GRAPHICS_PASSWORD, Secret.of("Given123")).build();
      restore(given, s);
      assertTrue(secureXml(name).contains("passwd='Given123'"));
    } finally {
      TestDriver.remove(name);
    }
  }

  static String secureXml(String name) throws Exception {
    return TestDriver.connection().domainLookupByName(name).getXMLDesc(Domain.XMLFlags.SECURE);
  }

  /** Every entry's bytes and attributes and the state's attributes, as text. */
  static String everything(StoredState s) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (StoredEntry e : s.entries()) {
      out.write(e.attributes().toString().getBytes(StandardCharsets.UTF_8));
      try (var in = s.open(e)) {
        in.transferTo(out);
      }
    }
    out.write(s.attributes().toString().getBytes(StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aWritableDiskLencapCannotCaptureIsRefusedUnlessExcluded() throws Exception {
    String name = TestDriver.name("nbd");
    Path disk = work.resolve("vda.img");
    Files.writeString(disk, "disk");
    String nbd = "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' "
        + "name='export'><host name='127.0.0.1' port='10809'/></source><target dev='vdb' bus='virtio'/></disk>";
    String cdrom = "<disk type='network' device='cdrom'><source protocol='http' name='/x.iso'><host name='h'/>"
        + "</source><target dev='hdc' bus='ide'/><readonly/></disk>";
    String shared = nbd.replace("vdb", "vdc").replace("</disk>", "<shareable/></disk>");
    TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda") + nbd + cdrom + shared));
    try {
      Resource r = vm(name, Map.of());
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        InvalidSpecException e = assertThrows(InvalidSpecException.class,
            () -> d.prepare(new Capture(r, CaptureMode.NON_BLOCKING)));
        assertEquals("resources[vm].properties.exclude.disks", e.field());
        assertTrue(e.getMessage().contains("disk vdb (network)"), e.getMessage());
        assertTrue(e.getMessage().contains(".property(\"exclude.disks\", \"vdb\")"), e.getMessage());
      }
      Resource typo = vm(name, Map.of(DomainDriver.EXCLUDE_DISKS, "vdz"));
      try (ResourceDriver d = PROVIDER.open(typo, context())) {
        InvalidSpecException e = assertThrows(InvalidSpecException.class,
            () -> d.prepare(new Capture(typo, CaptureMode.NON_BLOCKING)));
        assertEquals("resources[vm].properties.exclude.disks", e.field());
      }
      Resource excluded = vm(name, Map.of(DomainDriver.EXCLUDE_DISKS, "vdb"));
      Capture ctx = new Capture(excluded, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(excluded, context())) {
        d.prepare(ctx);
        d.quiesce();
        Cut cut = d.cut(ctx);
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
      }
      assertTrue(ctx.notes().stream().anyMatch(n -> n.contains("disk vdb is excluded")), ctx.notes().toString());
      assertEquals("vdb", ctx.sink().seal().attributes().get(DomainDriver.EXCLUDED_ATTRIBUTE));
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void aReleaseTouchesOnlyItsOwnArtefacts() throws Exception {
    String name = TestDriver.name("release");
    Path disk = work.resolve("vda.img");
    Files.writeString(disk, "disk");
    Domain dom = TestDriver.connection().domainDefineXML(xml(name, fileDisk(disk, "vda")));
    dom.create();
    String uuid = dom.getUUIDString();
    Path marker = work.resolve("marker");
    Files.writeString(marker, "marker");
    try (ResourceDriver d = PROVIDER.open(vm(name, Map.of()), context())) {
      for (Map<String, String> planted : java.util.List.of(
          Map.of("kind", "LIVE_SNAPSHOT", "uuid", uuid, "memory", marker.toString()),
          Map.of("kind", "LIVE_SNAPSHOT", "uuid", uuid, "overlay.vda", marker.toString(), "base.vda", disk.toString(),
              "memory", context().workDirectory().resolve("libvirt").resolve(uuid + "-x.mem").toString()),
          Map.of("kind", "LIVE_SNAPSHOT", "uuid", uuid, "overlay.vda", disk + ".lencap-x", "base.vda", marker.toString(),
              "memory", context().workDirectory().resolve("libvirt").resolve(uuid + "-x.mem").toString()),
          Map.of("kind", "SAVE_IMAGE", "uuid", uuid, "image", marker.toString()))) {
        LencapException e = assertThrows(LencapException.class, () -> d.release(Cut.live(planted)), planted.toString());
        assertTrue(e.getMessage().contains("refusing to release"), e.getMessage());
        assertEquals("marker", Files.readString(marker), planted.toString());
      }
      // Another domain's UUID: not this member's to touch.
      String other = TestDriver.name("other");
      Domain o = TestDriver.start(other, null);
      try {
        LencapException e = assertThrows(LencapException.class, () -> d.release(Cut.live(Map.of("kind", "LIVE_SNAPSHOT",
            "uuid", o.getUUIDString(), "memory", marker.toString()))));
        assertTrue(e.getMessage().contains("refusing"), e.getMessage());
      } finally {
        TestDriver.remove(other);
      }
    } finally {
      TestDriver.remove(name);
    }
    assertNotEquals(null, marker);
  }

  @AfterAll
  static void close() {
    PROVIDER.close();
  }
}
