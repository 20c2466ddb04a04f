package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.Watcher;
import java.util.function.Consumer;
import org.libvirt.Domain;

/**
 * A domain's health for failure detection: probes read its libvirt state (a pause is no failure, unless on an
 * I/O error), and its lifecycle events are pushed as they come ({@link DomainSignals}).
 */
final class DomainWatcher implements Watcher {
  private final MemberDomain domain;
  private final DomainSignals signals;

  DomainWatcher(Resource resource, ProviderContext context, Connections connections) {
    this.domain = new MemberDomain(resource, context, connections);
    this.signals = new DomainSignals(resource, connections, domain.name());
  }

  @Override
  public AutoCloseable subscribe(Consumer<Signal> listener) {
    return signals.subscribe(listener);
  }

  @Override
  public Health probe() {
    LibvirtConnection c;
    try {
      c = domain.current();
    } catch (LencapException e) {
      return Health.failed("libvirt unreachable at " + domain.resource().redactedLocator() + ": " + e.getMessage());
    }
    String where = domain.where();
    try {
      Domain d = domain.call("looking it up", () -> c.domainLookupByName(domain.name()));
      LibvirtConnection.State s = c.state(domain.call("reading its UUID", d::getUUIDString), domain.member(), where);
      return switch (s.state()) {
        case LibvirtConnection.STATE_RUNNING, LibvirtConnection.STATE_BLOCKED -> Health.healthy();
        case LibvirtConnection.STATE_PAUSED -> s.reason() == LibvirtConnection.PAUSED_IOERROR
            ? Health.failed(where + " is paused on an I/O error")
            : new Health(Health.Status.HEALTHY, where + " is paused (reason " + s.reason() + ")");
        case LibvirtConnection.STATE_CRASHED -> Health.failed(where + " crashed");
        case LibvirtConnection.STATE_SHUTOFF -> Health.failed(where + " is shut off");
        default -> Health.degraded(where + " is in state " + s.state());
      };
    } catch (NotFoundException e) {
      return Health.failed(where + " does not exist");
    } catch (LencapException e) {
      return Health.failed(e.getMessage());
    }
  }
}
