package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.iscsi.address.IscsiLocator;
import io.lencap.spi.RestoreContext;
import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.libvirt.Domain;

/**
 * A restored VM follows its LUNs: when the placement moves a LUN member that a disk of the domain uses, the disk
 * points at the LUN's new locator; when that member carries CHAP credentials the disk logs in with them through a
 * libvirt secret ({@link ChapSecrets}), otherwise it keeps the auth it was captured with.
 */
final class LunRelocation {
  private LunRelocation() {}

  /**
   * The ways a LUN member's locator may spell the LUN of a disk: {@code iscsi://host:port/iqn/lun}, also without
   * the port when it is iSCSI's default, and with LUN 0 spelled out when the disk's source names only the target.
   * A capture redirects, and a restore relocates, the LUN member whose locator is one of them.
   */
  static Set<String> spellings(URI lun) {
    Set<String> out = new LinkedHashSet<>();
    String path = lun.getRawPath();
    List<String> paths = path.lastIndexOf('/') > 0 && path.substring(path.lastIndexOf('/') + 1).matches("\\d+")
        ? List.of(path) : List.of(path, path + "/0");
    String scheme = IscsiLocator.SCHEME + "://";
    for (String p : paths) {
      out.add(scheme + lun.getRawAuthority() + p);
      if (IscsiLocator.port(lun) == IscsiLocator.DEFAULT_PORT) {
        out.add(scheme + lun.getHost() + ":" + IscsiLocator.DEFAULT_PORT + p);
        out.add(scheme + lun.getHost() + p);
      }
    }
    return out;
  }

  /**
   * The iSCSI disks of a restored domain whose LUN member the placement moves, by device: the LUN member where it
   * goes (its new locator, and its CHAP credentials if it has them).
   */
  static Map<String, Resource> movedLuns(DomainXml xml, RestoreContext ctx) {
    Map<String, Resource> out = new TreeMap<>();
    for (DomainXml.Disk d : xml.disks()) {
      d.lun().flatMap(lun -> spellings(lun).stream().map(s -> ctx.relocated(URI.create(s)))
              .flatMap(Optional::stream).findFirst())
          .ifPresent(target -> out.put(d.dev(), target));
    }
    return out;
  }

  /**
   * Points each moved disk at its LUN's new locator. A VM follows its LUN wherever it goes; when the LUN member
   * carries CHAP credentials ({@link ChapSecrets}) the disk logs in with them, else its CHAP and initiator
   * settings stay as they were.
   */
  static DomainXml withMovedLuns(DomainXml xml, Map<String, Resource> moved) {
    moved.forEach((dev, lun) -> xml.withLunSource(dev, lun.locator(), ChapSecrets.auth(lun)));
    return xml;
  }

  /** The moved LUNs' CHAP passwords, in the libvirt secrets the rewritten XML names, before QEMU logs in. */
  static void putSecrets(MemberDomain domain, LibvirtConnection conn, Map<String, Resource> moved) {
    moved.values().forEach(lun -> ChapSecrets.put(conn, domain.member(), domain.where(), lun));
  }

  /** The memory image ran with the moved LUNs; a persistent definition must name them too, or a cold boot goes back. */
  static void followOnNextBoot(MemberDomain domain, LibvirtConnection conn, Map<String, Resource> moved) {
    Domain d = domain.call("looking it up", () -> conn.domainLookupByName(domain.name()));
    if (domain.call("asking whether it is persistent", d::isPersistent) == 1) {
      String xml = domain.call("reading its definition",
          () -> d.getXMLDesc(Domain.XMLFlags.SECURE | Domain.XMLFlags.INACTIVE));
      String fixed = withMovedLuns(DomainXml.parse(xml), moved).xml();
      domain.run("pointing its definition at the LUNs it was restored onto", () -> conn.domainDefineXML(fixed));
    }
  }
}
