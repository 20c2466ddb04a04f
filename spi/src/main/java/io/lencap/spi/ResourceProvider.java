package io.lencap.spi;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.locator.LocatorPath;
import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A plug-in that knows one kind of resource (VMs through libvirt, iSCSI LUNs, NFS exports, ...).
 * Found by {@link java.util.ServiceLoader}: one class, one {@code META-INF/services} line and one
 * {@code provides io.lencap.spi.ResourceProvider with ...}. One instance serves every resource it
 * supports and may pool connections across them; the engine closes it when Lencap closes.
 */
public interface ResourceProvider extends AutoCloseable {
  /** A short, stable name shown in checkpoints and errors ({@code libvirt}, {@code iscsi}). */
  String name();

  /**
   * Whether this provider handles the resource, judged from its type and locator alone (no I/O).
   * When it declines, the reason is shown to the user next to every other provider's.
   */
  Support supports(Resource resource);

  /**
   * A driver for one resource for one operation (a capture or a restore). Cheap: connect in
   * {@link ResourceDriver#prepare} or {@link ResourceDriver#prepareRestore}, not here.
   */
  ResourceDriver open(Resource resource, ProviderContext context);

  /**
   * A watcher of the resource's health for failure detection, held open while a protection runs. Cheap:
   * connect in the first {@link Watcher#probe} or {@link Watcher#subscribe}, not here.
   */
  Watcher watch(Resource resource, ProviderContext context);

  /**
   * How to remove {@code restored}, a resource a restore created elsewhere than its group (a drill's sandbox), or
   * empty when this provider cannot remove what it restored (the default); a drill then refuses such members
   * before restoring anything. Cheap and without I/O: the work is in {@link Discarder#discard}. Never called for
   * a member of a group: the engine only passes a drill's own placement targets.
   */
  default Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return Optional.empty();
  }

  /**
   * Whether {@code a} and {@code b} name the same target (the same VM, LUN, export or tree), judged from the
   * resources alone (no I/O); {@code b} is a resource this provider supports, {@code a} any resource. A drill
   * refuses a sandbox that is the same target as a member of its group, since it would restore over the member
   * and then discard it. By default {@link #sameLocator}. A provider whose locators have aliases (a default port, a
   * number with leading zeros, several transports to one host) overrides this to compare what its locators mean;
   * when unsure it answers true, which only refuses a sandbox.
   */
  default boolean sameTarget(Resource a, Resource b) {
    return sameLocator(a, b);
  }

  /**
   * The default {@link #sameTarget}: two VMs with the same connection (after {@link URI#normalize}) and the same
   * property {@code domain}; otherwise (whatever the types) the same scheme and authority (ignoring case) and the same path (ignoring
   * trailing slashes).
   */
  static boolean sameLocator(Resource a, Resource b) {
    if (a.type() == ResourceType.VIRTUAL_MACHINE && b.type() == ResourceType.VIRTUAL_MACHINE) {
      return a.locator().normalize().equals(b.locator().normalize())
          && Objects.equals(a.property("domain").orElse(null), b.property("domain").orElse(null));
    }
    return LocatorPath.of(a.locator()).same(LocatorPath.of(b.locator()));
  }

  /** The properties and secrets this provider reads from its resources, for users and their tools. */
  default List<PropertySpec> properties() {
    return List.of();
  }

  /**
   * The part a resource this provider supports plays in its group's ordering, judged from the resource alone
   * (no I/O). By default its type's ({@link MemberRole#byType}): a provider of a new kind of member says here
   * whether it writes to the group's storage or is storage.
   */
  default MemberRole role(Resource resource) {
    return MemberRole.byType(resource.type());
  }

  @Override
  default void close() {}
}
