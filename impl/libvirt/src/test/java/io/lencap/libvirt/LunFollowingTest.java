package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
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
        LunRelocation.spellings(URI.create("iscsi://10.0.0.5:3260/iqn.x:t/1")));
    assertEquals(Set.of("iscsi://h:3270/iqn.x:t/0"), LunRelocation.spellings(URI.create("iscsi://h:3270/iqn.x:t/0")));
    assertTrue(LunRelocation.spellings(URI.create("iscsi://h:3270/iqn.x:t")).contains("iscsi://h:3270/iqn.x:t/0"),
        "a source naming only the target is LUN 0");
  }

  @Test
  void aDiskFollowsItsMovedLunMemberWhateverTheSpellingAndKeepsItsAuth() {
    URI newLun = URI.create("iscsi://192.168.1.9:3261/iqn.2024-01.io.lencap:b/0");
    Resource vm = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "vm3").build();
    // vdb's source says 10.0.0.5 (default port) and target t2 without a LUN number; its member spells it fully.
    io.lencap.spi.StoredState state = new MemoryState(new MemoryState.Chunks(), "cp1").seal();
    TckRestoreContext plain = new TckRestoreContext(vm, vm, state);
    TckRestoreContext relocating = new TckRestoreContext(vm, vm, state,
        captured -> captured.equals(URI.create("iscsi://10.0.0.5/iqn.2024-01.io.lencap:t2/0"))
            ? Optional.of(Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator(newLun).build())
            : Optional.empty());
    DomainXml xml = DomainXml.parse(DomainXmlTest.CHAP_XML);
    Map<String, Resource> moved = LunRelocation.movedLuns(xml, relocating);
    assertEquals(Map.of("vdb", newLun), Map.of("vdb", moved.get("vdb").locator()),
        "vda is an overlay (no LUN of its own), vdb moves");
    DomainXml back = DomainXml.parse(LunRelocation.withMovedLuns(xml, moved).xml());
    assertEquals(Optional.of(newLun), back.disks().get(1).lun());
    assertEquals(Optional.of("bob"), back.lunAccess("vdb").orElseThrow().user());
    assertEquals(Map.of(), LunRelocation.movedLuns(back, plain),
        "nothing moves when the placement keeps the LUN");
  }

  @Test
  void aDiskMovedToALunWithItsOwnChapLogsInWithItAndNeverShowsThePassword() {
    String password = "pw-" + System.nanoTime();
    Resource lun = Resource.builder("lun").type(ResourceType.BLOCK_VOLUME)
        .locator("iscsi://[fd00::7]/iqn.2024-01.io.lencap:b/1").property("chap.user", "carol")
        .secret("chap.secret", io.lencap.api.Secret.of(password)).build();
    String xml = LunRelocation.withMovedLuns(DomainXml.parse(DomainXmlTest.CHAP_XML),
        Map.of("vdb", lun, "vda", lun)).xml();
    assertTrue(!xml.contains(password), "the XML names the secret, never its value");
    DomainXml back = DomainXml.parse(xml);
    String usage = "lencap:[fd00::7]:3260/iqn.2024-01.io.lencap:b/1";
    assertEquals(usage, ChapSecrets.usage(lun.locator()));
    for (String dev : new String[] {"vda", "vdb"}) {
      assertEquals(new DomainXml.LunAccess(URI.create("iscsi://[fd00::7]:3260/iqn.2024-01.io.lencap:b/1"),
          Optional.of("carol"), Optional.empty(), Optional.of(usage),
          Optional.of("iqn.2024-01.io.lencap:vm3").filter(i -> dev.equals("vda"))), back.lunAccess(dev).orElseThrow(),
          dev + " logs in as carol, its initiator name kept");
    }
    assertEquals(2, xml.split("<auth ", -1).length - 1, "one per disk, in its source: " + xml);
    assertTrue(!xml.contains("bob") && !xml.contains("alice"), xml);
  }

  @Test
  void aLunMemberWithHalfItsChapIsRefusedNamingTheMissingField() {
    Resource userOnly = Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator("iscsi://h/iqn.x:t/0")
        .property("chap.user", "carol").build();
    Resource secretOnly = Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator("iscsi://h/iqn.x:t/0")
        .secret("chap.secret", io.lencap.api.Secret.of("pw")).build();
    assertEquals("resources[lun].secrets.chap.secret", org.junit.jupiter.api.Assertions.assertThrows(
        io.lencap.api.InvalidSpecException.class, () -> ChapSecrets.auth(userOnly)).field());
    assertEquals("resources[lun].properties.chap.user", org.junit.jupiter.api.Assertions.assertThrows(
        io.lencap.api.InvalidSpecException.class, () -> ChapSecrets.auth(secretOnly)).field());
    assertEquals(Optional.empty(), ChapSecrets.auth(Resource.builder("lun").type(ResourceType.BLOCK_VOLUME)
        .locator("iscsi://h/iqn.x:t/0").build()), "no CHAP on the member: the disk keeps its own");
  }
}
