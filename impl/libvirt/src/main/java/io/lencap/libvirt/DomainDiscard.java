package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.Discarder;
import io.lencap.spi.ProviderContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;

/**
 * Removes a domain a restore created into its {@code restore.directory} (a drill's sandbox): destroys it, undefines
 * it with its snapshot and checkpoint metadata, and deletes the files {@link DiskTargets} names for it in that
 * directory (disks, console logs, a restore's staging files) that the domain's own definition names. Nothing else:
 * a domain without the directory is not a restore's own, and is refused; a file of another domain whose name merely
 * starts the same ({@code web-db-vda.qcow2} beside a sandbox {@code web}) is not the sandbox's.
 */
final class DomainDiscard implements Discarder {
  /** {@code VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | SNAPSHOTS_METADATA | CHECKPOINTS_METADATA}. */
  private static final int UNDEFINE_CHECKPOINTS_METADATA = 16;
  private static final int UNDEFINE_ALL_METADATA = 1 | 2 | UNDEFINE_CHECKPOINTS_METADATA;
  private static final List<String> RESTORED_SUFFIXES = List.of(".raw", ".qcow2", ".log", ".lencap-restore",
      ".lencap-restore.raw");

  private final MemberDomain domain;
  private final Path directory;

  DomainDiscard(Resource restored, ProviderContext context, Connections connections) {
    this.domain = new MemberDomain(restored, context, connections);
    String field = "resources[" + restored.id() + "].properties." + DiskTargets.DIRECTORY;
    String dir = restored.property(DiskTargets.DIRECTORY).orElseThrow(() -> new InvalidSpecException(field,
        "missing: only a domain restored into a directory of its own can be discarded"));
    Path p = Path.of(dir);
    if (!p.isAbsolute()) {
      throw new InvalidSpecException(field, "'" + dir + "' is not an absolute path");
    }
    this.directory = p.normalize();
  }

  @Override
  public void discard() throws IOException {
    LibvirtConnection c = domain.current();
    Domain d = domain.findByName(c);
    Set<Path> named = new HashSet<>();
    if (d != null) {
      // Read before the destroy: a transient domain has no definition left after it.
      DomainXml xml = DomainXml.parse(domain.call("reading its definition", () -> d.getXMLDesc(0)));
      xml.disks().forEach(disk -> disk.source().ifPresent(named::add));
      named.addAll(xml.characterFiles());
      String id = domain.call("reading its UUID", d::getUUIDString);
      // A restore from a memory image makes a transient domain, which is gone once destroyed: nothing to undefine.
      boolean persistent = domain.call("reading whether it is persistent", d::isPersistent) == 1;
      if (c.state(id, domain.member(), domain.where() + ": reading its state").state()
          != LibvirtConnection.STATE_SHUTOFF) {
        domain.run("destroying it", d::destroy);
      }
      if (persistent) {
        undefine(d);
      }
    }
    deleteRestoredFiles(named);
  }

  private void undefine(Domain d) {
    try {
      domain.run("undefining it", () -> d.undefine(UNDEFINE_ALL_METADATA));
    } catch (InvalidSpecException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_INVALID_ARG) {
        throw e;
      }
      // A driver without checkpoints (Xen, the test driver) refuses their flag: it has none to remove.
      domain.run("undefining it", () -> d.undefine(UNDEFINE_ALL_METADATA & ~UNDEFINE_CHECKPOINTS_METADATA));
    }
  }

  /** Deletes what the definition named in the directory, in the names a restore gives, with their staging files. */
  private void deleteRestoredFiles(Set<Path> named) throws IOException {
    String prefix = domain.name() + "-";
    for (Path f : named) {
      Path file = f.normalize();
      String name = file.getFileName().toString();
      if (!directory.equals(file.getParent()) || !name.startsWith(prefix)
          || RESTORED_SUFFIXES.stream().noneMatch(name::endsWith)) {
        continue;
      }
      for (Path p : List.of(file, file.resolveSibling(name + ".lencap-restore"),
          file.resolveSibling(name + ".lencap-restore.raw"))) {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
