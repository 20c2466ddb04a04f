package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.spi.Health;
import org.libvirt.Domain;

/** A domain's health for failure detection, from its libvirt state: a pause is no failure, unless on an I/O error. */
final class DomainProbe {
  private DomainProbe() {}

  static Health probe(MemberDomain domain) {
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
