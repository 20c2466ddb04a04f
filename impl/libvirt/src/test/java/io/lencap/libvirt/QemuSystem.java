package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.testing.CounterGuest;
import io.lencap.testing.CounterGuests;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * The libvirt the ITs run their counter guests on, seen through libvirt-java as the provider sees it:
 * the guests (files under {@code /var/lib/lencap/it/NAME}, where QEMU can reach them), one shared
 * connection, a guest's domain and the disk libvirt shows for it.
 */
final class QemuSystem {
  static final Path ROOT = Path.of("/var/lib/lencap/it");
  private static CounterGuests guests;
  private static Connect connection;

  private QemuSystem() {}

  /**
   * The counter guests; skips the test when libvirt + QEMU or the guest image are missing, or fails it
   * when the system property {@code lencap.it.require} is true (the project's test script sets it).
   */
  static synchronized CounterGuests guests() {
    String missing;
    try {
      CounterGuests g = guests != null ? guests : CounterGuests.inProject().filesUnder(ROOT);
      missing = g.unavailable().orElse(null);
      if (missing == null) {
        connection();
        guests = g;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while looking for libvirt", e);
    } catch (LibvirtException e) {
      missing = "libvirt-java cannot connect (" + e.getMessage() + "): run scripts/setup/libvirt.sh";
    }
    if (missing != null) {
      if (Boolean.getBoolean("lencap.it.require")) {
        fail(missing);
      }
      Assumptions.abort(missing);
    }
    return guests;
  }

  /** The libvirt URI the guests run on. */
  static String uri() {
    return guests().uri();
  }

  /** One connection for the tests; a new one when libvirtd restarted (the fault tests restart it). */
  static synchronized Connect connection() throws LibvirtException {
    if (connection != null && !alive(connection)) {
      connection = null;
    }
    if (connection == null) {
      EventLoop.ensureStarted();
      connection = new Connect(Optional.ofNullable(guests).map(CounterGuests::uri).orElseGet(() ->
          CounterGuests.inProject().uri()));
    }
    return connection;
  }

  private static boolean alive(Connect c) {
    try {
      return c.isAlive();
    } catch (LibvirtException | RuntimeException e) {
      return false;
    }
  }

  static Domain domain(CounterGuest g) throws LibvirtException {
    return connection().domainLookupByName(g.name());
  }

  /** The source of the guest's first disk as libvirt shows it now. */
  static String diskSource(CounterGuest g) throws LibvirtException {
    return DomainXml.parse(domain(g).getXMLDesc(0)).disks().get(0).source().orElseThrow().toString();
  }
}
