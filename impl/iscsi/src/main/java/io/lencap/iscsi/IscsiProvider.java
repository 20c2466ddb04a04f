package io.lencap.iscsi;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Chunking;
import io.lencap.spi.Discarder;
import io.lencap.spi.Health;
import io.lencap.spi.PropertySpec;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.util.List;
import java.util.Optional;

/**
 * iSCSI LUNs ({@code iscsi://host:port/iqn/lun}, type {@code block}) through an initiator built on jSCSI's PDU
 * codec. CHAP: property {@code chap.user} and secret {@code chap.secret}; mutual CHAP adds property
 * {@code chap.targetUser} and secret {@code chap.targetSecret}. A target that can snapshot plugs in
 * through {@link io.lencap.spi.StorageSnapshot}.
 */
public final class IscsiProvider implements ResourceProvider {
  /** Sessions kept from one capture or restore of a LUN to the next. */
  private final SessionPool sessions = new SessionPool();

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
    return new LunDriver(resource, LunSpec.of(resource), context.storageSnapshot(resource), context.workDirectory(),
        sessions);
  }

  /**
   * Healthy while the target serves the LUN: a probe asks its capacity on a kept session, or logs in when none
   * answers (so a dead target is still noticed), and keeps that session for the next probe or capture.
   */
  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    LunSpec spec = LunSpec.of(resource);
    return () -> {
      try {
        sessions.give(spec, sessions.take(spec));
        return Health.healthy();
      } catch (IscsiException e) {
        return Health.failed(e.getMessage());
      }
    };
  }

  /**
   * The same LUN: the same host (ignoring case), port (3260 when absent), target name (ignoring case) and LUN number
   * ({@code 01} is {@code 1}), so that a drill never takes an alias of a member for its sandbox. A locator that does
   * not parse is compared as text.
   */
  @Override
  public boolean sameTarget(Resource a, Resource b) {
    Optional<LunAddress> la = address(a);
    Optional<LunAddress> lb = address(b);
    if (la.isPresent() && lb.isPresent()) {
      return la.get().equals(lb.get());
    }
    return ResourceProvider.super.sameTarget(a, b);
  }

  private static Optional<LunAddress> address(Resource r) {
    if (!"iscsi".equalsIgnoreCase(r.locator().getScheme())) {
      return Optional.empty();
    }
    try {
      return Optional.of(LunAddress.parse(r.locator()).canonical());
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Zeroes a LUN a restore wrote (a drill's sandbox): a LUN is the target's to delete, not an initiator's. */
  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return Optional.of(new LunDiscard(LunSpec.of(restored)));
  }

  @Override
  public List<PropertySpec> properties() {
    IscsiSession.Options defaults = IscsiSession.Options.defaults();
    return List.of(
        PropertySpec.property(LunSpec.CHAP_USER, "", "the CHAP user the initiator logs in as (with the secret "
            + LunSpec.CHAP_SECRET + "); with credentials, a target that does not authenticate is refused"),
        PropertySpec.secret(LunSpec.CHAP_SECRET, "that user's CHAP secret"),
        PropertySpec.property(LunSpec.CHAP_TARGET_USER, "", "mutual CHAP: the user the target must prove it is"),
        PropertySpec.secret(LunSpec.CHAP_TARGET_SECRET, "mutual CHAP: the target's own secret (not "
            + LunSpec.CHAP_SECRET + ")"),
        PropertySpec.property(LunSpec.CHUNK_SIZE, String.valueOf(Chunking.DEFAULT_BLOCK_SIZE), "bytes per stored "
            + "chunk, a power of two from 4096; smaller chunks store less of scattered small writes"),
        PropertySpec.property(LunTracking.PROPERTY, "diff", "diff: where the LUN's StorageSnapshot can tell what "
            + "changed between two snapshots, keep each capture's snapshot until the next commits and read only the "
            + "ranges changed since; none: read the LUN whole and keep no snapshot"),
        PropertySpec.property(LunSpec.QUEUE_DEPTH, String.valueOf(defaults.queueDepth()), "READs or WRITEs in "
            + "flight per session, 1..128 (1 for a target that takes one command at a time)"),
        PropertySpec.property(LunSpec.TIMEOUT_SECONDS, String.valueOf(defaults.timeout().toSeconds()), "seconds a "
            + "target may take to answer before the session fails, 1..3600"));
  }

  /** Logs out of the sessions kept idle. */
  @Override
  public void close() {
    sessions.close();
  }
}
