package io.lencap.libvirt;

import io.lencap.iscsi.address.IscsiLocator;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.w3c.dom.Element;

/**
 * How libvirt's domain XML spells a disk: a {@code <disk>} element read into a {@link DomainXml.Disk}, the iSCSI
 * LUN a network source names, and the element pointed at a new file or LUN. {@link DomainXml} finds the elements;
 * this class knows what is inside them.
 */
final class DiskElements {
  private DiskElements() {}

  /** The guest device a disk element is for ({@code <target dev>}); null when it has no target. */
  static String dev(Element d) {
    Element target = DomainXml.child(d, "target");
    return target == null ? null : target.getAttribute("dev");
  }

  /** The locator of an iSCSI network source, in the URL form of libiscsi and the iSCSI provider. */
  private static Optional<URI> lun(Element source) {
    if (source == null || !source.getAttribute("protocol").equals(IscsiLocator.SCHEME)
        || source.getAttribute("name").isEmpty()) {
      return Optional.empty();
    }
    Element host = DomainXml.child(source, "host");
    if (host == null || host.getAttribute("name").isEmpty()) {
      return Optional.empty();
    }
    try {
      int port = host.getAttribute("port").isEmpty() ? IscsiLocator.DEFAULT_PORT
          : Integer.parseInt(host.getAttribute("port"));
      return Optional.of(IscsiLocator.of(host.getAttribute("name"), port, source.getAttribute("name")));
    } catch (IllegalArgumentException e) { // also NumberFormatException: not a LUN we can name
      return Optional.empty();
    }
  }

  /** The disk a {@code <disk>} element declares; empty when it has no target (libvirt would refuse it). */
  static Optional<DomainXml.Disk> read(Element d) {
    Element target = DomainXml.child(d, "target");
    if (target == null) {
      return Optional.empty();
    }
    String type = d.getAttribute("type").isEmpty() ? "file" : d.getAttribute("type");
    Element source = DomainXml.child(d, "source");
    Optional<Path> path = Optional.empty();
    if (source != null) {
      String p = type.equals("block") ? source.getAttribute("dev") : source.getAttribute("file");
      if (!p.isEmpty()) {
        path = Optional.of(Path.of(p));
      }
    }
    Element driver = DomainXml.child(d, "driver");
    Optional<String> format = driver == null || driver.getAttribute("type").isEmpty()
        ? Optional.empty() : Optional.of(driver.getAttribute("type"));
    String device = d.getAttribute("device").isEmpty() ? "disk" : d.getAttribute("device");
    Optional<Path> backing = Optional.empty();
    Element store = DomainXml.child(d, "backingStore");
    Element storeSource = store == null ? null : DomainXml.child(store, "source");
    if (storeSource != null) {
      String b = storeSource.getAttribute("file").isEmpty() ? storeSource.getAttribute("dev")
          : storeSource.getAttribute("file");
      backing = b.isEmpty() ? Optional.empty() : Optional.of(Path.of(b));
    }
    return Optional.of(new DomainXml.Disk(target.getAttribute("dev"), type, device, path, format,
        DomainXml.child(d, "readonly") != null || device.equals("cdrom"), backing,
        type.equals("network") ? lun(source) : Optional.empty(),
        store != null && store.getAttribute("type").equals("network") ? lun(storeSource) : Optional.empty(),
        DomainXml.child(d, "shareable") != null));
  }

  /** Points a disk element at a file, dropping any backing chain shown. */
  static void pointAtFile(Element d, Path p) {
    Element target = DomainXml.child(d, "target");
    d.setAttribute("type", "file");
    Element source = DomainXml.child(d, "source");
    if (source == null) {
      source = d.getOwnerDocument().createElement("source");
      d.insertBefore(source, target);
    }
    for (String a : List.of("dev", "index", "startupPolicy")) {
      source.removeAttribute(a);
    }
    source.setAttribute("file", p.toString());
    Element backing = DomainXml.child(d, "backingStore");
    if (backing != null) {
      d.removeChild(backing);
    }
  }

  /**
   * Points a disk element at the iSCSI LUN {@code iscsi://host:port/iqn/lun}, dropping any backing chain. The new
   * source copies the LUN source the disk has, or the one its overlay sits on (libvirt keeps it in the
   * backingStore), so its CHAP {@code <auth>}, {@code <initiator>} and other children survive; only the target name
   * and the host change. When {@code auth} is given the disk logs in with it instead of the auth it had: any old
   * {@code <auth>}, on the disk or its source, is replaced by one inside the source (libvirt refuses both).
   */
  static void pointAtLun(Element d, URI lun, Optional<DomainXml.LunAuth> auth) {
    var doc = d.getOwnerDocument();
    Element target = DomainXml.child(d, "target");
    Element old = DomainXml.child(d, "source");
    Element backing = DomainXml.child(d, "backingStore");
    Element template = d.getAttribute("type").equals("network") ? old
        : backing != null && backing.getAttribute("type").equals("network") ? DomainXml.child(backing, "source") : null;
    Element source = template == null ? doc.createElement("source") : (Element) template.cloneNode(true);
    for (String a : List.of("file", "dev", "index", "startupPolicy")) {
      source.removeAttribute(a);
    }
    source.setAttribute("protocol", IscsiLocator.SCHEME);
    source.setAttribute("name", IscsiLocator.target(lun));
    for (Element h : DomainXml.children(source, "host")) {
      source.removeChild(h);
    }
    Element host = doc.createElement("host");
    host.setAttribute("name", IscsiLocator.host(lun));
    host.setAttribute("port", Integer.toString(IscsiLocator.port(lun)));
    source.insertBefore(host, source.getFirstChild());
    if (auth.isPresent()) {
      for (Element a : DomainXml.children(source, "auth")) {
        source.removeChild(a);
      }
      for (Element a : DomainXml.children(d, "auth")) {
        d.removeChild(a);
      }
      Element a = doc.createElement("auth");
      a.setAttribute("username", auth.get().user());
      Element secret = doc.createElement("secret");
      secret.setAttribute("type", "iscsi");
      secret.setAttribute("usage", auth.get().secretUsage());
      a.appendChild(secret);
      source.insertBefore(a, host.getNextSibling());
    } else if (DomainXml.child(d, "auth") != null) {
      for (Element a : DomainXml.children(source, "auth")) {
        source.removeChild(a); // the disk-level <auth> of older definitions already applies; libvirt refuses two
      }
    }
    d.setAttribute("type", "network");
    if (old != null) {
      d.replaceChild(source, old);
    } else {
      d.insertBefore(source, target);
    }
    Element driver = DomainXml.child(d, "driver");
    if (driver != null) {
      driver.setAttribute("type", "raw");
    }
    if (backing != null) {
      d.removeChild(backing);
    }
  }

  /** The LUN a disk element uses: the one behind its overlay (backingStore) if it has one, else its own source. */
  static Optional<DomainXml.LunAccess> lunAccess(Element d) {
    Element backing = DomainXml.child(d, "backingStore");
    Element source = backing != null && backing.getAttribute("type").equals("network") ? DomainXml.child(backing, "source")
        : d.getAttribute("type").equals("network") ? DomainXml.child(d, "source") : null;
    Optional<URI> lun = lun(source);
    if (lun.isEmpty()) {
      return Optional.empty();
    }
    Element auth = DomainXml.child(source, "auth") != null ? DomainXml.child(source, "auth") : DomainXml.child(d, "auth");
    Element secret = auth == null ? null : DomainXml.child(auth, "secret");
    Element initiator = DomainXml.child(source, "initiator");
    Element iqn = initiator == null ? null : DomainXml.child(initiator, "iqn");
    return Optional.of(new DomainXml.LunAccess(lun.get(), attribute(auth, "username"), attribute(secret, "uuid"),
        attribute(secret, "usage"), attribute(iqn, "name")));
  }

  private static Optional<String> attribute(Element e, String name) {
    return e == null || e.getAttribute(name).isEmpty() ? Optional.empty() : Optional.of(e.getAttribute(name));
  }
}
