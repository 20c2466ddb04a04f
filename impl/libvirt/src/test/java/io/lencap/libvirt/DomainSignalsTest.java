package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.FailureKind;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.Watcher;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;

class DomainSignalsTest {
  @TempDir
  Path work;

  @Test
  void mapsLifecycleEventsToFailures() {
    assertEquals(FailureKind.CRASHED, DomainSignals.kindOf(new DomainEvent(DomainEventType.STOPPED, 2)));
    assertEquals(FailureKind.STOPPED, DomainSignals.kindOf(new DomainEvent(DomainEventType.STOPPED, 1)));
    assertNull(DomainSignals.kindOf(new DomainEvent(DomainEventType.STOPPED, 4)), "saved by a capture: no failure");
    assertEquals(FailureKind.PAUSED_ON_ERROR, DomainSignals.kindOf(new DomainEvent(DomainEventType.SUSPENDED, 2)));
    assertNull(DomainSignals.kindOf(new DomainEvent(DomainEventType.SUSPENDED, 0)), "a quiesce is not a failure");
    assertEquals(FailureKind.CRASHED, DomainSignals.kindOf(new DomainEvent(DomainEventType.CRASHED, 0)));
    assertNull(DomainSignals.kindOf(new DomainEvent(DomainEventType.RESUMED, 0)));
  }

  @Test
  void signalsADestroyedDomain() throws Exception {
    String name = TestDriver.name("signals");
    TestDriver.start(name, null);
    LibvirtProvider provider = new LibvirtProvider();
    try {
      Resource r = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
          .property("domain", name).build();
      BlockingQueue<Watcher.Signal> seen = new LinkedBlockingQueue<>();
      try (Watcher w = provider.watch(r, new ProviderContext() {
        @Override
        public Path workDirectory() {
          return work;
        }

        @Override
        public Clock clock() {
          return Clock.systemUTC();
        }
      }); AutoCloseable sub = w.subscribe(seen::add)) {
        TestDriver.connection().domainLookupByName(name).suspend(); // a pause is no failure
        TestDriver.connection().domainLookupByName(name).destroy();
        Watcher.Signal s = seen.poll(30, TimeUnit.SECONDS);
        assertEquals(java.util.Optional.of(FailureKind.STOPPED), s.failure(), s.toString());
        assertEquals("vm", s.resourceId());
        assertTrue(s.detail().contains("DESTROYED"), s.detail());
      }
    } finally {
      TestDriver.remove(name);
      provider.close();
    }
  }
}
