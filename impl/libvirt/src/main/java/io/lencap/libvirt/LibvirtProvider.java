package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import java.util.Set;

/**
 * Virtual machines through libvirt: KVM/QEMU ({@code qemu:///system}, {@code qemu+ssh://host/system}),
 * Xen ({@code xen:///system}) and libvirt's test driver ({@code test:///default}). A resource names the
 * connection URI as its locator and the domain in the property {@code domain}. Optional properties:
 * {@code cut} ({@code live} or {@code paused}: whether a non-blocking capture pauses the guest from
 * quiesce to resume; {@code paused} by default for a VM that depends on storage members), {@code exclude.disks}
 * (guest devices a capture leaves out on purpose), and for a restore {@code restore.directory} (where disks and
 * console files go when no domain of that name is replaced: never a path read from the store) and
 * {@code restore.allowPassthrough} ({@code true} starts stored XML that reaches into the host); the secret
 * {@code graphics.password} sets the VNC/SPICE password of a restored domain that replaces none.
 */
public final class LibvirtProvider implements ResourceProvider {
  private static final Set<String> SCHEMES = Set.of("qemu", "xen", "libxl", "test");

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
