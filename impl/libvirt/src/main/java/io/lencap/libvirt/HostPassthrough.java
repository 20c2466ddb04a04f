package io.lencap.libvirt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The parts of a domain XML read from the store that would reach into the restoring host: QEMU arguments
 * and capabilities of libvirt's QEMU namespace, host devices, network interfaces bound to host devices or
 * sockets, host directories shared into the guest, disks and character devices on host paths the replaced
 * domain does not use. Whoever can write to the store controls that XML, so a restore refuses it unless
 * the caller opts in ({@link #OPT_IN}).
 */
final class HostPassthrough {
  /** The member property that lets a restore start stored XML with passthrough. */
  static final String OPT_IN = "restore.allowPassthrough";
  static final String QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
  private static final Set<String> HOST_INTERFACES = Set.of("direct", "hostdev", "vhostuser");
  private static final Set<String> HOST_CHARACTER_DEVICES = Set.of("dev", "pipe", "unix");

  private HostPassthrough() {}

  /**
   * What in {@code xml} reaches into the host, each described for the error message.
   *
   * @param allowedPaths host paths the restored domain may use: the disks this restore wrote and what the
   *     replaced domain uses already (its disk sources and character devices)
   */
  static List<String> find(DomainXml xml, Set<Path> allowedPaths) {
    List<String> found = new ArrayList<>();
    walk(xml.root(), found);
    Element devices = DomainXml.child(xml.root(), "devices");
    if (devices == null) {
      return found;
    }
    for (Element h : DomainXml.children(devices, "hostdev")) {
      found.add("<hostdev type='" + h.getAttribute("type") + "'> (a host device handed to the guest)");
    }
    for (Element i : DomainXml.children(devices, "interface")) {
      if (HOST_INTERFACES.contains(i.getAttribute("type"))) {
        found.add("<interface type='" + i.getAttribute("type") + "'> (bound to a host device or socket)");
      }
    }
    for (Element f : DomainXml.children(devices, "filesystem")) {
      if (!f.getAttribute("type").equals("ram")) {
        found.add("<filesystem type='" + (f.getAttribute("type").isEmpty() ? "mount" : f.getAttribute("type"))
            + "'> (host storage shared into the guest)");
      }
    }
    for (Element d : DomainXml.children(devices, "disk")) {
      String dev = targetDev(d);
      Element source = DomainXml.child(d, "source");
      String type = d.getAttribute("type").isEmpty() ? "file" : d.getAttribute("type");
      if (type.equals("volume")) {
        found.add("<disk dev='" + dev + "' type='volume'> (a storage pool volume of this host)");
        continue;
      }
      String path = source == null ? "" : switch (type) {
        case "file" -> source.getAttribute("file");
        case "block" -> source.getAttribute("dev");
        case "dir" -> source.getAttribute("dir");
        default -> "";
      };
      if (!path.isEmpty() && !allowedPaths.contains(Path.of(path))) {
        found.add("<disk dev='" + dev + "' type='" + type + "'> on host path " + path + ", which the replaced "
            + "domain does not use");
      }
    }
    for (String kind : List.of("serial", "console", "parallel", "channel")) {
      for (Element c : DomainXml.children(devices, kind)) {
        Element source = DomainXml.child(c, "source");
        String path = source == null ? "" : source.getAttribute("path");
        boolean host = HOST_CHARACTER_DEVICES.contains(c.getAttribute("type"))
            || c.getAttribute("type").equals("file");
        if (host && !path.isEmpty() && !allowedPaths.contains(Path.of(path))) {
          found.add("<" + kind + " type='" + c.getAttribute("type") + "'> on host path " + path
              + ", which the replaced domain does not use");
        }
      }
    }
    return found;
  }

  /** Anything in libvirt's QEMU namespace: {@code qemu:commandline}, {@code qemu:capabilities}, ... */
  private static void walk(Element e, List<String> found) {
    if (QEMU_NAMESPACE.equals(e.getNamespaceURI())) {
      found.add("<" + e.getTagName() + "> (QEMU arguments or capabilities outside libvirt's control)");
      return;
    }
    NodeList nodes = e.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      Node n = nodes.item(i);
      if (n instanceof Element child) {
        walk(child, found);
      }
    }
  }

  private static String targetDev(Element disk) {
    Element target = DomainXml.child(disk, "target");
    return target == null ? "?" : target.getAttribute("dev");
  }
}
