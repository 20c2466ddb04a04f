package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What of a stored domain XML reaches into the host, and what of it is secret: on XML alone. */
class HostPassthroughTest {
  @TempDir
  Path dir;

  static String domain(String devices) {
    return "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>vm</name><devices>"
        + "<emulator>/usr/bin/qemu-system-x86_64</emulator>" + devices + "</devices></domain>";
  }

  static List<String> find(String devices, Path... allowed) {
    return HostPassthrough.find(DomainXml.parse(domain(devices)), Set.of(allowed));
  }

  @Test
  void findsEachKindOfPassthrough() {
    assertEquals(1, HostPassthrough.find(DomainXml.parse(domain("").replace("</domain>",
        "<qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>")), Set.of()).size());
    assertEquals(1, HostPassthrough.find(DomainXml.parse(domain("").replace("</domain>",
        "<other:capabilities xmlns:other='http://libvirt.org/schemas/domain/qemu/1.0'><other:add capability='x'/>"
        + "</other:capabilities></domain>")), Set.of()).size(), "found by namespace, whatever the prefix");
    assertTrue(find("<hostdev mode='subsystem' type='pci'><source><address bus='1'/></source></hostdev>").get(0)
        .startsWith("<hostdev"));
    for (String type : List.of("direct", "hostdev", "vhostuser")) {
      assertEquals(1, find("<interface type='" + type + "'><source dev='eth0'/></interface>").size(), type);
    }
    assertEquals(List.of(), find("<interface type='network'><source network='default'/></interface>"));
    assertEquals(1, find("<filesystem type='mount'><source dir='/etc'/><target dir='x'/></filesystem>").size());
    assertEquals(List.of(), find("<filesystem type='ram'><source usage='1024'/><target dir='x'/></filesystem>"));
    assertEquals(1, find("<serial type='dev'><source path='/dev/ttyS0'/></serial>").size());
    assertEquals(1, find("<disk type='volume'><source pool='p' volume='v'/><target dev='vdc'/></disk>").size());
  }

  @Test
  void hostPathsOnlyWhereAllowed() {
    String disks = "<disk type='block'><source dev='/dev/sdb'/><target dev='vdb'/></disk>"
        + "<disk type='file'><source file='/var/lib/x.qcow2'/><target dev='vda'/></disk>"
        + "<serial type='file'><source path='/var/log/c.log'/></serial>";
    assertEquals(3, find(disks).size());
    assertEquals(List.of(), find(disks, Path.of("/dev/sdb"), Path.of("/var/lib/x.qcow2"), Path.of("/var/log/c.log")));
    assertTrue(find(disks, Path.of("/var/lib/x.qcow2"), Path.of("/var/log/c.log")).get(0).contains("/dev/sdb"));
  }

  @Test
  void emulatorIsReplacedOrLeftToLibvirt() {
    DomainXml x = DomainXml.parse(domain("").replace("/usr/bin/qemu-system-x86_64", "/tmp/evil"));
    assertEquals(Optional.of("/tmp/evil"), x.emulator());
    assertEquals(Optional.of("/usr/bin/qemu-system-x86_64"),
        DomainXml.parse(x.withEmulator(Optional.of("/usr/bin/qemu-system-x86_64")).xml()).emulator());
    assertEquals(Optional.empty(), DomainXml.parse(x.withEmulator(Optional.empty()).xml()).emulator());
  }

  @Test
  void secretsAreRemoved() {
    DomainXml x = DomainXml.parse(domain("<graphics type='vnc' passwd='pw1'/><graphics type='spice' passwd='pw2'/>"
        + "<disk type='network'><source protocol='https' name='/i'><host name='h'/><cookies><cookie name='c'>"
        + "cookie-value</cookie></cookies></source><target dev='vda'/></disk>"));
    assertEquals(java.util.Map.of("vnc", "pw1", "spice", "pw2"), x.graphicsPasswords());
    assertEquals(List.of("vnc", "spice"), x.removeSecrets());
    String out = x.xml();
    assertFalse(out.contains("pw1") || out.contains("pw2") || out.contains("cookie-value"), out);
  }

  @Test
  void aSaveImageIsStoredWithItsXmlRewrittenAndTheFileUntouched() throws Exception {
    byte[] stream = new byte[3 << 20];
    new java.util.Random(3).nextBytes(stream);
    Path image = dir.resolve("mem");
    byte[] original = SaveImageTest.image("<domain><name>a</name><devices><graphics type='vnc' passwd='s3cr3tpw'/>"
        + "</devices></domain>", "<cookie/>", 65536, stream);
    Files.write(image, original);
    ByteBuffer head = SaveImage.rewrittenHead(image, xml -> {
      DomainXml d = DomainXml.parse(xml);
      d.removeSecrets();
      return d.xml();
    });
    Capture ctx = new Capture(StoreTrustTest.vm("a", java.util.Map.of()), io.lencap.api.CaptureMode.NON_BLOCKING);
    StateFiles.capture(image, head, "memory.img", java.util.Map.of(), io.lencap.spi.Chunking.contentDefined(), ctx,
        () -> { });
    var state = ctx.sink().seal();
    byte[] stored;
    try (var in = state.open(state.entry("memory.img").orElseThrow())) {
      stored = in.readAllBytes();
    }
    assertEquals(original.length, stored.length);
    assertFalse(new String(stored, StandardCharsets.ISO_8859_1).contains("s3cr3tpw"));
    assertTrue(new String(stored, StandardCharsets.ISO_8859_1).contains("<cookie/>"));
    assertEquals(ByteBuffer.wrap(original, head.limit(), original.length - head.limit()),
        ByteBuffer.wrap(stored, head.limit(), stored.length - head.limit()), "the memory stream is stored as it is");
    assertTrue(java.util.Arrays.equals(original, Files.readAllBytes(image)), "the file keeps what libvirt needs");
    Path copy = dir.resolve("copy");
    Files.write(copy, stored);
    SaveImage.rewriteXml(copy, xml -> {
      assertFalse(xml.contains("s3cr3tpw"));
      return xml;
    });
  }
}
