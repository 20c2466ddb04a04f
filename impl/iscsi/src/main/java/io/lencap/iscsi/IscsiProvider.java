package io.lencap.iscsi;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;

/**
 * iSCSI LUNs ({@code iscsi://host:port/iqn/lun}, type {@code block}) through an initiator built on jSCSI's PDU
 * codec. CHAP: property {@code chap.user} and secret {@code chap.secret}; mutual CHAP adds property
 * {@code chap.targetUser} and secret {@code chap.targetSecret}. A target that can snapshot plugs in
 * through {@link io.lencap.spi.StorageSnapshot}.
 */
public final class IscsiProvider implements ResourceProvider {

  @Override
  public String name() {
    return "iscsi";
  }

  @Override
  public Support supports(Resource resource) {
    if (resource.type() != ResourceType.BLOCK_VOLUME) {
      return Support.no("type " + resource.type().shortName() + " is not block");
    }
    if (!"iscsi".equalsIgnoreCase(resource.locator().getScheme())) {
      return Support.no("scheme " + resource.locator().getScheme() + " is not iscsi");
    }
    return Support.yes();
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return new LunDriver(resource, LunSpec.of(resource), context.storageSnapshot(resource));
  }
}
