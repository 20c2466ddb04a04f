package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.Watcher;
import io.lencap.testing.Components;
import io.lencap.testing.SecondHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host B, the second libvirt host of {@code scripts/setup/hostb.sh}, as the cross-host tests see it: a guest
 * there runs with files this process cannot open, and the provider watches it over TCP through a libvirtd that
 * dies and comes back.
 */
class SecondHostIT {
  static final String GUEST = "lencap-hostb-it";
  static final Duration WAIT = Duration.ofSeconds(120);

  @TempDir
  Path work;

  SecondHost hostB;

  @BeforeEach
  void requireHostB() throws Exception {
    hostB = SecondHost.inProject();
    Components.require(hostB.unavailable());
    hostB.define(GUEST);
    hostB.start(GUEST);
  }

  @AfterEach
  void removeGuest() throws Exception {
    if (hostB != null) {
      hostB.restart(); // a test that killed libvirtd leaves it to come back here
      hostB.remove(GUEST);
    }
  }

  @Test
  void aGuestOnHostBRunsWithFilesThisProcessCannotSee() throws Exception {
    hostB.awaitCounter(GUEST, 2, WAIT);
    Path disk = SecondHost.IMAGES.resolve(GUEST + ".qcow2");
    assertTrue(hostB.virsh("domblklist", GUEST).contains(disk.toString()), "the guest's disk is in host B's pool");
    assertFalse(Files.exists(disk), disk + " is visible outside host B's mount namespace");
  }

  @Test
  void theWatcherSeesHostBsLibvirtdDieAndComeBack() throws Exception {
    hostB.awaitCounter(GUEST, 1, WAIT);
    LibvirtProvider provider = new LibvirtProvider();
    try (provider; Watcher w = provider.watch(hostB.resource(GUEST), context())) {
      assertEquals(Health.Status.HEALTHY, w.probe().status(), () -> probeDetail(w));
      hostB.killLibvirtd();
      Health down = w.probe();
      assertEquals(Health.Status.FAILED, down.status(), down.detail());
      assertFalse(down.detail().contains("10.231.0.2/system?"), "no connection parameters in " + down.detail());
      hostB.restart();
      assertEquals(Health.Status.HEALTHY, w.probe().status(), () -> probeDetail(w));
    }
    List<Integer> seen = hostB.counters(GUEST); // one read: the guest prints on meanwhile
    int before = seen.get(seen.size() - 1);
    hostB.awaitCounter(GUEST, before + 1, WAIT); // QEMU outlived its libvirtd and counts on
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void theWatcherSeesHostBsLinkCutAndBack() throws Exception {
    hostB.awaitCounter(GUEST, 1, WAIT);
    LibvirtProvider provider = new LibvirtProvider();
    try (provider; Watcher w = provider.watch(hostB.resource(GUEST), context())) {
      assertEquals(Health.Status.HEALTHY, w.probe().status(), () -> probeDetail(w));
      hostB.link(false);
      try {
        long start = System.nanoTime();
        Health cut = w.probe();
        assertEquals(Health.Status.FAILED, cut.status(), cut.detail());
        System.out.printf("probe over a cut link: FAILED after %d ms: %s%n",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), cut.detail());
      } finally {
        hostB.link(true);
      }
      assertEquals(Health.Status.HEALTHY, w.probe().status(), () -> probeDetail(w));
    }
  }

  private static String probeDetail(Watcher w) {
    try {
      return w.probe().detail();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private ProviderContext context() {
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
}
