package io.lencap.libvirt;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * libvirt's built-in test driver ({@code test:///default}): no daemon, state shared by every connection
 * of this process while one stays open. Plumbing and scale only, never proof that QEMU works.
 */
final class TestDriver {
  static final String URI = "test:///default";
  private static final AtomicInteger NEXT = new AtomicInteger();
  private static Connect connection;

  private TestDriver() {}

  /** The process's connection, opened after libvirt's event loop (which must come first). */
  static synchronized Connect connection() throws LibvirtException {
    if (connection == null) {
      EventLoop.ensureStarted();
      connection = new Connect(URI);
    }
    return connection;
  }

  /** A fresh name, unique in this process. */
  static String name(String prefix) {
    return prefix + "-" + NEXT.incrementAndGet();
  }

  /** Defines and starts a test-driver domain, with a file-backed disk when {@code disk} is given. */
  static Domain start(String name, Path disk) throws LibvirtException {
    return start(name, disk, "");
  }

  /** The same, with more devices (XML) after the disk. */
  static Domain start(String name, Path disk, String moreDevices) throws LibvirtException {
    String devices = (disk == null ? "" : "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='"
        + disk + "'/><target dev='vda' bus='virtio'/></disk>") + moreDevices;
    Domain d = connection().domainDefineXML("<domain type='test'><name>" + name + "</name><memory unit='MiB'>64</memory>"
        + "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>" + devices + "</devices></domain>");
    d.create();
    return d;
  }

  static void remove(String name) {
    try {
      Domain d = connection().domainLookupByName(name);
      if (d.isActive() == 1) {
        d.destroy();
      }
      d.undefine();
    } catch (LibvirtException e) {
      // already gone
    }
  }
}
