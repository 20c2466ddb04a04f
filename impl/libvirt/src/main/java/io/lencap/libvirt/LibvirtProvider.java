package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Discarder;
import io.lencap.spi.PropertySpec;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Virtual machines through libvirt: KVM/QEMU ({@code qemu:///system}, {@code qemu+ssh://host/system}),
 * Xen ({@code xen:///system}) and libvirt's test driver ({@code test:///default}). A resource names the
 * connection URI as its locator and the domain in the property {@code domain}; the other properties are
 * listed by {@link #properties()}.
 */
public final class LibvirtProvider implements ResourceProvider {
  static final Set<String> SCHEMES = Set.of("qemu", "xen", "libxl", "test");

  private volatile Connections connections;

  @Override
  public String name() {
    return "libvirt";
  }

  @Override
  public Support supports(Resource resource) {
    if (resource.type() != ResourceType.VIRTUAL_MACHINE) {
      return Support.no("type " + resource.type().shortName() + " is not a VM");
    }
    String scheme = resource.locator().getScheme();
    String family = scheme == null ? "" : scheme.contains("+") ? scheme.substring(0, scheme.indexOf('+')) : scheme;
    if (!SCHEMES.contains(family)) {
      return Support.no("scheme " + scheme + " is not a libvirt connection URI (qemu, xen, libxl, test)");
    }
    return Support.yes();
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return new DomainDriver(resource, context, connections());
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    return new DomainWatcher(resource, context, connections());
  }

  /**
   * The same domain: the same name on the same hypervisor, whatever the transport ({@link Hypervisor}), so that a
   * drill never takes an alias of a member ({@code qemu+unix:///system} for {@code qemu:///system}) for its sandbox
   * and then destroys it. A locator that is not a libvirt connection is compared as text.
   */
  @Override
  public boolean sameTarget(Resource a, Resource b) {
    if (a.type() != ResourceType.VIRTUAL_MACHINE || b.type() != ResourceType.VIRTUAL_MACHINE) {
      return ResourceProvider.super.sameTarget(a, b);
    }
    Optional<Hypervisor> ha = Hypervisor.of(a.locator());
    Optional<Hypervisor> hb = Hypervisor.of(b.locator());
    if (ha.isEmpty() || hb.isEmpty()) {
      return ResourceProvider.super.sameTarget(a, b);
    }
    return ha.equals(hb) && Objects.equals(a.property("domain").orElse(null), b.property("domain").orElse(null));
  }

  /** Destroys and undefines a domain restored into its {@code restore.directory}, and deletes its files there. */
  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return Optional.of(new DomainDiscard(restored, context, connections()));
  }

  @Override
  public List<PropertySpec> properties() {
    return List.of(
        PropertySpec.property("domain", "", "the libvirt domain's name (required)"),
        PropertySpec.property("cut", "live; paused for a VM with dependsOn", "live: a non-blocking capture pauses "
            + "the guest only for QEMU's last copy round; paused: from quiesce to resume, consistent with the storage "
            + "it writes"),
        PropertySpec.property(DomainDriver.EXCLUDE_DISKS, "", "guest disks (e.g. vdb,vdc) a capture leaves out on "
            + "purpose, recorded in the checkpoint; a writable disk Lencap cannot capture fails the capture otherwise"),
        PropertySpec.property("redirects", "", "further locators (comma-separated) of LUNs this VM writes, for LUN "
            + "members that name them otherwise (a host name instead of an address): their writes go to an overlay "
            + "and the LUNs transfer after resume"),
        PropertySpec.property(BitmapTracking.PROPERTY, "bitmap", "bitmap: a live or paused capture leaves a libvirt "
            + "checkpoint (a dirty bitmap in each qcow2 disk) and the next reads only the granules it marks, whenever "
            + "it can prove them complete; none: every capture reads and hashes each disk image whole"),
        PropertySpec.property(DiskTargets.DIRECTORY, "", "where a restore puts disks and console files when no "
            + "domain of that name is replaced (never a path read from the store)"),
        PropertySpec.property(HostPassthrough.OPT_IN, "false", "true lets a restore start stored XML that reaches "
            + "into the host (qemu:commandline, host devices, host paths)"),
        PropertySpec.secret(RestoredXml.GRAPHICS_PASSWORD, "VNC/SPICE password of a restored domain that replaces "
            + "none (else the replaced domain's, or a random one)"));
  }

  private Connections connections() {
    Connections c = connections;
    if (c == null) {
      synchronized (this) {
        if (connections == null) {
          connections = new Connections();
        }
        c = connections;
      }
    }
    return c;
  }

  @Override
  public synchronized void close() {
    if (connections != null) {
      connections.close();
      connections = null;
    }
  }
}
