package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.DomainInfo.DomainState;

/**
 * The scale of the coordination: 100 domains of libvirt's test driver (each with a small file disk) in
 * one encapsulation, captured at one recovery line and restored. The test driver has no live external
 * snapshots, so every member takes the save-image fallback, as Xen would, and says so.
 */
class HundredDomainsIT {
  static final int DOMAINS = 100;

  @TempDir
  Path tmp;
  private final List<String> names = new ArrayList<>();

  @Test
  void hundredDomainsCaptureAndRestoreTogether() throws Exception {
    TestDriver.connection();
    Encapsulation.Builder b = Encapsulation.builder("hundred");
    for (int i = 0; i < DOMAINS; i++) {
      String name = TestDriver.name("scale");
      Path disk = tmp.resolve(name + ".img");
      Files.write(disk, ("disk of " + name + " v1").getBytes());
      TestDriver.start(name, disk);
      names.add(name);
      b.resource(Resource.builder("vm" + i).type(ResourceType.VIRTUAL_MACHINE).locator(TestDriver.URI)
          .property("domain", name).build());
    }
    Encapsulation job = b.policy(ResiliencyPolicy.builder().mode(CaptureMode.NON_BLOCKING)
        .pauseBudget(Duration.ofSeconds(60)).build()).build();
    try (Lencap lencap = Lencap.builder().store(tmp.resolve("store")).build()) {
      Checkpoint cp = lencap.capture(job).get(5, TimeUnit.MINUTES);
      assertEquals(DOMAINS, cp.members().size());
      for (MemberCheckpoint m : cp.members()) {
        assertTrue(m.notes().stream().anyMatch(n -> n.contains("no live external snapshots")), m.notes().toString());
      }
      for (String name : names) {
        assertEquals(DomainState.VIR_DOMAIN_RUNNING, TestDriver.connection().domainLookupByName(name).getInfo().state);
        Files.write(tmp.resolve(name + ".img"), "changed after the capture".getBytes());
        TestDriver.connection().domainLookupByName(name).destroy();
      }

      lencap.restore(job, cp.id()).get(5, TimeUnit.MINUTES);
      for (String name : names) {
        assertEquals("disk of " + name + " v1", Files.readString(tmp.resolve(name + ".img")));
        assertEquals(DomainState.VIR_DOMAIN_RUNNING, TestDriver.connection().domainLookupByName(name).getInfo().state);
      }
      System.out.printf("100 test-driver domains: capture pause %d ms (longest member), %d bytes stored%n",
          cp.pause().toMillis(), cp.storedBytes());
    }
  }

  @AfterEach
  void removeDomains() {
    names.forEach(TestDriver::remove);
  }
}
