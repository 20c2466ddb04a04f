package io.lencap.core;

import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.locator.LocatorPath;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The resources a drill restores into, checked to be apart from the group before anything is written: every member
 * is moved, and no target is a member of the group (as the member's provider judges it,
 * {@link io.lencap.spi.ResourceProvider#sameTarget}: for a VM, the same host and domain name; for a LUN, the same
 * portal, target and LUN number) or a path nested in or around one (a sandbox directory inside a member's tree would
 * change it; a member's tree inside the sandbox would be deleted with it).
 */
final class DrillSandbox {
  private DrillSandbox() {}

  /** Each member's sandbox resource, in the group's order. Throws {@link InvalidSpecException} naming the member. */
  static Map<String, Resource> of(Encapsulation group, Placement placement, ProviderRegistry providers) {
    Map<String, Resource> out = new LinkedHashMap<>();
    for (Resource r : group.resources()) {
      String field = "placement." + r.id();
      if (placement.target(r.id()).isEmpty()) {
        throw new InvalidSpecException(field, "a drill restores every member into its sandbox: move " + r.id()
            + " somewhere of its own (a new domain name, directory, export path or LUN)");
      }
      Resource placed = placement.apply(r);
      for (Resource member : group.resources()) {
        boolean same = providers.sameTarget(placed, member);
        if (same || nestedTrees(placed, member)) {
          throw new InvalidSpecException(field, "the sandbox target " + describe(placed) + " is "
              + (member.id().equals(r.id()) ? "the member itself" : "member " + member.id() + " of the group")
              + (same ? "" : " or nested with it") + "; a drill never touches the group: give a target of its own");
        }
      }
      out.put(r.id(), placed);
    }
    return out;
  }

  /** Nested locators, unless both are VMs (whose locator is their host's connection, shared by every domain there). */
  private static boolean nestedTrees(Resource placed, Resource member) {
    return (placed.type() != ResourceType.VIRTUAL_MACHINE || member.type() != ResourceType.VIRTUAL_MACHINE)
        && LocatorPath.of(placed.locator()).nested(LocatorPath.of(member.locator()));
  }

  private static String describe(Resource r) {
    return r.redactedLocator() + r.property("domain").map(d -> " (domain " + d + ")").orElse("");
  }
}
