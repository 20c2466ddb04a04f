package io.lencap.libvirt;

import static io.lencap.libvirt.CounterGuestIT.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import io.lencap.testing.CounterGuest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.Domain;

/**
 * The store is not an authority, on real libvirt + QEMU: a VNC password that libvirt writes into the live
 * snapshot's memory file reaches no stored byte; a manifest whose disk path names another file restores onto the
 * domain's own disk; stored {@code qemu:commandline} is refused unless the caller opts in.
 */
class StoreTrustIT {
  static final LibvirtProvider PROVIDER = new LibvirtProvider();
  static final String PASSWORD = "Pw4Lencp";

  @TempDir
  Path tmp;

  @BeforeAll
  static void requireQemu() {
    QemuSystem.guests();
  }

  @AfterAll
  static void close() {
    PROVIDER.close();
  }

  ProviderContext context() {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return tmp.resolve("work");
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  @Test
  void aVncPasswordReachesNoStoredByteAndAPlantedDiskPathIsIgnored() throws Exception {
    try (CounterGuest g = QemuSystem.guests().define("lencap-it-secret")) {
      String xml = QemuSystem.domain(g).getXMLDesc(0).replace("<memballoon", "<graphics type='vnc' port='-1' autoport='yes' "
          + "listen='127.0.0.1' passwd='" + PASSWORD + "'/><memballoon");
      QemuSystem.connection().domainDefineXML(xml);
      QemuSystem.domain(g).create();
      g.awaitCounter(n -> n >= 2, WAIT);
      Resource r = g.resource("vm");
      Capture ctx = new Capture(r, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        d.quiesce();
        Cut cut = d.cut(ctx);
        d.resume();
        // libvirt does write the password into the memory file: the check below is not vacuous.
        assertTrue(headContains(Path.of(cut.artefacts().get("memory")), PASSWORD), "libvirt no longer writes it");
        d.transfer(cut, ctx);
        d.release(cut);
      }
      assertEquals("live-external-snapshot", ctx.method());
      StoredState s = ctx.sink().seal();
      assertFalse(StoreTrustTest.everything(s).contains(PASSWORD), "the VNC password is in the store");
      assertEquals("vnc", s.attributes().get(RestoredXml.GRAPHICS_PROTECTED));

      // Planted: the manifest's disk path names another file.
      Path marker = g.directory().resolve("marker");
      Files.writeString(marker, "marker");
      StoredState planted = withDiskPath(s, marker);
      int mark = g.counters().size();
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        TckRestoreContext rc = new TckRestoreContext(r, r, planted);
        d.prepareRestore(rc);
        d.restore(rc);
        d.resume();
      }
      assertEquals("marker", Files.readString(marker));
      assertEquals(g.disk().toString(), QemuSystem.diskSource(g));
      g.awaitCounter(mark, n -> true, WAIT);
      String restored = QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.SECURE);
      assertTrue(restored.contains("passwd='" + PASSWORD + "'"), "the replaced domain's password is kept");
      assertTrue(restored.contains("<emulator>/usr/bin/qemu-system-x86_64</emulator>"), "this host's emulator");
    }
  }

  @Test
  void storedQemuCommandlineIsRefusedUnlessTheCallerOptsIn() throws Exception {
    try (CounterGuest g = QemuSystem.guests().define("lencap-it-cmdline")) {
      Resource r = g.resource("vm");
      Capture ctx = new Capture(r, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        d.quiesce();
        Cut cut = d.cut(ctx);
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
      }
      assertEquals("offline-disk-copy", ctx.method());
      StoredState planted = withDefinition(ctx.sink().seal(), x -> x
          .replaceFirst("<domain ", "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' ")
          .replace("</domain>", "<qemu:commandline><qemu:arg value='-sandbox'/><qemu:arg value='on'/>"
              + "</qemu:commandline></domain>"));
      String before = QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        TckRestoreContext rc = new TckRestoreContext(r, r, planted);
        d.prepareRestore(rc);
        InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> d.restore(rc));
        assertEquals("resources[vm].properties.restore.allowPassthrough", e.field());
        assertTrue(e.getMessage().contains("qemu:commandline"), e.getMessage());
      }
      assertEquals(before, QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE), "the definition is untouched");
      Resource optIn = Resource.builder("vm").type(r.type()).locator(r.locator()).property("domain", g.name())
          .property(HostPassthrough.OPT_IN, "true").build();
      try (ResourceDriver d = PROVIDER.open(optIn, context())) {
        TckRestoreContext rc = new TckRestoreContext(optIn, optIn, planted);
        d.prepareRestore(rc);
        d.restore(rc);
        d.resume();
      }
      assertTrue(QemuSystem.domain(g).getXMLDesc(Domain.XMLFlags.INACTIVE).contains("-sandbox"));
    }
  }

  static boolean headContains(Path file, String s) throws Exception {
    try (InputStream in = Files.newInputStream(file)) {
      return new String(in.readNBytes(1 << 20), StandardCharsets.ISO_8859_1).contains(s);
    }
  }

  /** A copy of the state whose disk entries name {@code path} in their attributes. */
  static StoredState withDiskPath(StoredState s, Path path) throws Exception {
    return copy(s, (e, attrs) -> {
      if (e.path().startsWith(DomainDriver.DISKS)) {
        attrs.put("path", path.toString());
      }
    }, x -> x);
  }

  static StoredState withDefinition(StoredState s, java.util.function.UnaryOperator<String> edit) throws Exception {
    return copy(s, (e, attrs) -> { }, edit);
  }

  private static StoredState copy(StoredState s, java.util.function.BiConsumer<StoredEntry, Map<String, String>> attrs,
      java.util.function.UnaryOperator<String> definition) throws Exception {
    MemoryState out = new MemoryState(new MemoryState.Chunks(), s.checkpointId());
    for (StoredEntry e : s.entries()) {
      Map<String, String> a = new TreeMap<>(e.attributes());
      attrs.accept(e, a);
      try (var w = out.create(e.path(), EntryKind.FILE, a, Chunking.blocks()); var in = s.open(e)) {
        byte[] b = in.readAllBytes();
        if (e.path().equals(DomainDriver.DEFINITION)) {
          b = definition.apply(new String(b, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        }
        w.write(b, 0, b.length);
      }
    }
    s.attributes().forEach(out::attribute);
    return out.seal();
  }
}
