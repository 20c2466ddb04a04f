package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.Discarder;
import io.lencap.spi.ProviderContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;

/**
 * Removes a domain a restore created into its {@code restore.directory} (a drill's sandbox): destroys it, undefines
 * it with its snapshot and checkpoint metadata, and deletes the files {@link DiskTargets} names for it in that
 * directory (disks, console logs, a restore's staging files). Nothing else: a domain without the directory is not a
 * restore's own, and is refused.
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
    if (d != null) {
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
    deleteRestoredFiles();
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

  private void deleteRestoredFiles() throws IOException {
    if (!Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    String prefix = domain.name() + "-";
    try (var files = Files.list(directory)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.startsWith(prefix) && RESTORED_SUFFIXES.stream().anyMatch(name::endsWith)
            && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          Files.deleteIfExists(f);
        }
      }
    }
  }
}
