package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.tck.MemoryState;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a restored VM finds the LUN members the placement moves, and follows them. */
class LunFollowingTest {
  @Test
  void spellsALunAsItsMemberMay() {
    assertEquals(Set.of("iscsi://10.0.0.5:3260/iqn.x:t/1", "iscsi://10.0.0.5/iqn.x:t/1"),
        DomainDriver.spellings(URI.create("iscsi://10.0.0.5:3260/iqn.x:t/1")));
    assertEquals(Set.of("iscsi://h:3270/iqn.x:t/0"), DomainDriver.spellings(URI.create("iscsi://h:3270/iqn.x:t/0")));
    assertTrue(DomainDriver.spellings(URI.create("iscsi://h:3270/iqn.x:t")).contains("iscsi://h:3270/iqn.x:t/0"),
        "a source naming only the target is LUN 0");
  }

  @Test
  void aDiskFollowsItsMovedLunMemberWhateverTheSpellingAndKeepsItsAuth() {
    URI newLun = URI.create("iscsi://192.168.1.9:3261/iqn.2024-01.io.lencap:b/0");
    Resource vm = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "vm3").build();
    // vdb's source says 10.0.0.5 (default port) and target t2 without a LUN number; its member spells it fully.
    io.lencap.spi.StoredState state = new MemoryState(new MemoryState.Chunks(), "cp1").seal();
    RestoreContextStub plain = new RestoreContextStub(vm, vm, state);
    io.lencap.spi.RestoreContext relocating = new io.lencap.spi.RestoreContext() {
      @Override
      public String encapsulation() {
        return plain.encapsulation();
      }

      @Override
      public String checkpointId() {
        return plain.checkpointId();
      }

      @Override
      public Resource captured() {
        return vm;
      }

      @Override
      public Resource target() {
        return vm;
      }

      @Override
      public io.lencap.spi.StoredState state() {
        return state;
      }

      @Override
      public void progress(long done, long total) {}

      @Override
      public boolean isCancelled() {
        return false;
      }

      @Override
      public void checkCancelled() {}

      @Override
      public Optional<Resource> relocated(URI captured) {
        return captured.equals(URI.create("iscsi://10.0.0.5/iqn.2024-01.io.lencap:t2/0"))
            ? Optional.of(Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator(newLun).build())
            : Optional.empty();
      }
    };
    DomainXml xml = DomainXml.parse(DomainXmlTest.CHAP_XML);
    Map<String, URI> moved = DomainDriver.movedLuns(xml, relocating);
    assertEquals(Map.of("vdb", newLun), moved, "vda is an overlay (no LUN of its own), vdb moves");
    DomainXml back = DomainXml.parse(DomainDriver.withMovedLuns(xml, moved).xml());
    assertEquals(Optional.of(newLun), back.disks().get(1).lun());
    assertEquals(Optional.of("bob"), back.lunAccess("vdb").orElseThrow().user());
    assertEquals(Map.of(), DomainDriver.movedLuns(back, plain),
        "nothing moves when the placement keeps the LUN");
  }
}
