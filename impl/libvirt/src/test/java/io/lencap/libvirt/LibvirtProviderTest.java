package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Capability;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Watcher;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider's own logic, on libvirt's test driver (no daemon). */
class LibvirtProviderTest {
  static final LibvirtProvider PROVIDER = new LibvirtProvider();

  @TempDir
  Path work;

  Health health(Resource r) throws Exception {
    try (Watcher w = PROVIDER.watch(r, context())) {
      return w.probe();
    }
  }

  ProviderContext context() {
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

  static Resource vm(String locator, String domain) {
    Resource.Builder b = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(locator);
    if (domain != null) {
      b.property("domain", domain);
    }
    return b.build();
  }

  @Test
  void foundByServiceLoader() {
    assertTrue(ServiceLoader.load(ResourceProvider.class).stream().anyMatch(p -> p.type() == LibvirtProvider.class));
  }

  @Test
  void supportsLibvirtUrisForVmsOnly() {
    for (String uri : new String[] {"qemu:///system", "qemu+ssh://root@node7/system", "xen:///system", "test:///default"}) {
      assertTrue(PROVIDER.supports(vm(uri, "x")).supported(), uri);
    }
    assertFalse(PROVIDER.supports(vm("iscsi://h/iqn/0", "x")).supported());
    var block = PROVIDER.supports(Resource.of("lun", ResourceType.BLOCK_VOLUME, "qemu:///system"));
    assertFalse(block.supported());
    assertTrue(block.reason().contains("not a VM"), block.reason());
  }

  @Test
  void aMissingDomainPropertyNamesTheField() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> PROVIDER.open(vm(TestDriver.URI, null), context()));
    assertEquals("resources[vm].properties.domain", e.field());
  }

  @Test
  void aBadCutPropertyNamesTheField() throws Exception {
    TestDriver.connection();
    Resource r = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
        .property("domain", "test").property("cut", "sometimes").build();
    try (ResourceDriver d = PROVIDER.open(r, context())) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> d.prepare(capture(r, CaptureMode.NON_BLOCKING)));
      assertEquals("resources[vm].properties.cut", e.field());
    }
  }

  @Test
  void aBadTrackingPropertyNamesTheField() throws Exception {
    TestDriver.connection();
    Resource r = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
        .property("domain", "test").property("tracking", "sometimes").build();
    try (ResourceDriver d = PROVIDER.open(r, context())) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> d.prepare(capture(r, CaptureMode.BLOCKING)));
      assertEquals("resources[vm].properties.tracking", e.field());
    }
  }

  @Test
  void liveCutOnlyForQemu() {
    assertTrue(PROVIDER.open(vm("qemu:///system", "x"), context()).capabilities().contains(Capability.LIVE_CUT));
    assertFalse(PROVIDER.open(vm("xen:///system", "x"), context()).capabilities().contains(Capability.LIVE_CUT));
    assertTrue(PROVIDER.open(vm("xen:///system", "x"), context()).capabilities().contains(Capability.RESTORE_ELSEWHERE));
  }

  @Test
  void anUnknownDomainIsNotFound() throws Exception {
    TestDriver.connection();
    Resource r = vm(TestDriver.URI, "no-such-domain");
    try (ResourceDriver d = PROVIDER.open(r, context())) {
      NotFoundException e = assertThrows(NotFoundException.class, () -> d.prepare(capture(r, CaptureMode.NON_BLOCKING)));
      assertTrue(e.getMessage().contains("no-such-domain"), e.getMessage());
      assertEquals(Health.Status.FAILED, health(r).status());
    }
  }

  @Test
  void theTestDriverFallsBackToASaveImageAndSaysSo() throws Exception {
    String name = TestDriver.name("fallback");
    TestDriver.start(name, null);
    try {
      Resource r = vm(TestDriver.URI, name);
      var ctx = capture(r, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        assertTrue(ctx.notes().stream().anyMatch(n -> n.contains("no live external snapshots")), ctx.notes().toString());
        assertEquals("save-image", ctx.method());
        d.quiesce();
        var cut = d.cut(ctx);
        assertFalse(cut.live(), "a save image is read while the domain is stopped");
        assertEquals(Health.Status.FAILED, health(r).status(), "saved: not running until resumed");
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
        assertEquals(Health.Status.HEALTHY, health(r).status());
      }
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void theTestDriverCannotRenameOnRestore() throws Exception {
    String name = TestDriver.name("rename");
    TestDriver.start(name, null);
    try {
      Resource r = vm(TestDriver.URI, name);
      Capture ctx = capture(r, CaptureMode.BLOCKING);
      MemoryState sink = ctx.sink();
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        d.quiesce();
        var cut = d.cut(ctx);
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
      }
      Resource elsewhere = vm(TestDriver.URI, name + "-copy");
      try (ResourceDriver d = PROVIDER.open(elsewhere, context())) {
        InvalidSpecException e = assertThrows(InvalidSpecException.class,
            () -> d.prepareRestore(new TckRestoreContext(r, elsewhere, sink.seal())));
        assertEquals("placement[vm].properties.domain", e.field());
      }
    } finally {
      TestDriver.remove(name);
    }
  }

  @Test
  void aShutOffDomainIsCapturedAsItsDefinitionAndDisksAndRestoredShutOff() throws Exception {
    String name = TestDriver.name("offline");
    Path disk = work.resolve(name + ".img");
    java.nio.file.Files.writeString(disk, "offline disk v1");
    TestDriver.start(name, disk).destroy();
    try {
      Resource r = vm(TestDriver.URI, name);
      Capture ctx = capture(r, CaptureMode.NON_BLOCKING);
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        d.prepare(ctx);
        assertEquals("offline-disk-copy", ctx.method());
        d.quiesce();
        var cut = d.cut(ctx);
        d.transfer(cut, ctx);
        d.resume();
        d.release(cut);
      }
      var state = ctx.sink().seal();
      assertTrue(state.entry(DomainDriver.DEFINITION).isPresent());
      assertTrue(state.entry(DomainDriver.MEMORY).isEmpty());
      java.nio.file.Files.writeString(disk, "changed");
      try (ResourceDriver d = PROVIDER.open(r, context())) {
        TckRestoreContext rc = new TckRestoreContext(r, r, state);
        d.prepareRestore(rc);
        d.restore(rc);
        d.resume();
      }
      assertEquals("offline disk v1", java.nio.file.Files.readString(disk));
      assertEquals(0, TestDriver.connection().domainLookupByName(name).isActive(), "restored as it was: shut off");
    } finally {
      TestDriver.remove(name);
    }
  }

  static Capture capture(Resource r, CaptureMode mode) {
    return new Capture(r, mode);
  }

  @AfterAll
  static void close() {
    PROVIDER.close();
  }
}
