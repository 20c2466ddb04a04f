package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A drill's sandbox is judged apart from the group by the members' providers, not by the locators' text. */
class DrillSandboxTest {
  /** LUNs {@code lun://host[:port]/n}: the port defaults to 3260 and n is a number, so the text has aliases. */
  static final class AliasingProvider implements ResourceProvider {
    @Override
    public String name() {
      return "lun";
    }

    @Override
    public Support supports(Resource r) {
      return "lun".equals(r.locator().getScheme()) ? Support.yes() : Support.no("not lun");
    }

    @Override
    public ResourceDriver open(Resource resource, ProviderContext context) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Watcher watch(Resource resource, ProviderContext context) {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean sameTarget(Resource a, Resource b) {
      return supports(a).supported() && key(a).equals(key(b));
    }

    private static String key(Resource r) {
      URI u = r.locator();
      return u.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + (u.getPort() < 0 ? 3260 : u.getPort()) + "/"
          + Integer.parseInt(u.getPath().substring(1));
    }
  }

  static final Resource LUN = Resource.of("disk", ResourceType.BLOCK_VOLUME, "lun://san/1");
  static final Encapsulation GROUP = Encapsulation.builder("g").resource(LUN).build();
  final ProviderRegistry providers = new ProviderRegistry(List.of(new AliasingProvider()));

  private static Placement to(String target) {
    return Placement.builder().move("disk", URI.create(target)).build();
  }

  @Test
  void anAliasOfTheMemberIsRefusedNamingIt() {
    for (String alias : List.of("lun://san:3260/1", "lun://SAN/01", "lun://san:3260/001")) {
      InvalidSpecException e = assertThrows(InvalidSpecException.class,
          () -> DrillSandbox.of(GROUP, to(alias), providers), alias);
      assertEquals("placement.disk", e.field());
      assertTrue(e.getMessage().contains("is the member itself;"), e.getMessage());
    }
  }

  @Test
  void theTextAloneWouldHaveLetTheAliasThrough() {
    assertThrows(InvalidSpecException.class, () -> DrillSandbox.of(GROUP, to("lun://san:3260/01"), providers));
    assertEquals(URI.create("lun://san:3260/01"), DrillSandbox.of(GROUP, to("lun://san:3260/01"),
        new ProviderRegistry(List.of())).get("disk").locator(), "without the provider, only the text is compared");
  }

  @Test
  void anotherLunIsApart() {
    for (String other : List.of("lun://san/2", "lun://san:3261/1", "lun://nas/1")) {
      assertEquals(URI.create(other), DrillSandbox.of(GROUP, to(other), providers).get("disk").locator());
    }
  }

  @Test
  void theDefaultComparesTheLocatorsText() {
    Resource tree = Resource.of("t", ResourceType.FILE_TREE, "file:///srv/data");
    assertTrue(ResourceProvider.sameLocator(Resource.of("s", ResourceType.FILE_TREE, "FILE:///srv/data/"), tree));
    assertFalse(ResourceProvider.sameLocator(Resource.of("s", ResourceType.FILE_TREE, "file:///srv/data2"), tree));
    Resource vm = Resource.builder("vm").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "rank0").build();
    Resource sameDomain = Resource.builder("s").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "rank0").build();
    Resource otherDomain = Resource.builder("s").type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", "rank0-drill").build();
    assertTrue(ResourceProvider.sameLocator(sameDomain, vm));
    assertFalse(ResourceProvider.sameLocator(otherDomain, vm));
  }
}
