package io.lencap.libvirt;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.InvalidSpecException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where a restore writes a stored disk: onto the same disk of the domain it replaces, as libvirt reports it on
 * the target connection, or into the directory the caller names ({@link #DIRECTORY}). Never a path read from
 * the store: whoever can write to the store would choose which host file gets overwritten.
 */
final class DiskTargets {
  /** The member property naming where disks (and console files) go when there is no domain to replace. */
  static final String DIRECTORY = "restore.directory";
  private static final Pattern DEV = Pattern.compile("[A-Za-z0-9_-]{1,32}");
  private static final Set<String> FORMATS = Set.of("raw", "qcow2");

  private final String domainName;
  private final Optional<DomainXml> replaced;
  private final Optional<Path> directory;
  private final String field;
  private final String checkpointId;
  private final String member;
  private final String what;

  /**
   * @param replaced the live XML of the domain this in-place restore replaces, if it exists there
   * @param directory the caller's {@link #DIRECTORY}, absolute
   * @param field the property to name in errors ({@code resources[vm].properties.restore.directory})
   */
  DiskTargets(String domainName, Optional<DomainXml> replaced, Optional<Path> directory, String field,
      String checkpointId, String member) {
    this.domainName = domainName;
    this.replaced = replaced;
    this.directory = directory;
    this.field = field;
    this.checkpointId = checkpointId;
    this.member = member;
    this.what = "checkpoint " + checkpointId + ", member " + member;
  }

  /** The file to write disk {@code dev}, stored in {@code format}. */
  Path target(String dev, String format) {
    if (!DEV.matcher(dev).matches()) {
      throw new CorruptCheckpointException(checkpointId, member, "stored disk name '" + dev
          + "' is not a guest device name");
    }
    if (!FORMATS.contains(format)) {
      throw new CorruptCheckpointException(checkpointId, member, "disk " + dev + " has the unknown stored format '"
          + format + "'");
    }
    Optional<DomainXml.Disk> own = replaced.flatMap(x -> x.disks().stream().filter(d -> d.dev().equals(dev)).findFirst());
    if (own.isPresent() && own.get().source().isPresent()) {
      DomainXml.Disk d = own.get();
      if (!d.type().equals("file")) {
        throw new InvalidSpecException(field, what + ": disk " + dev + " of the replaced domain is a " + d.type()
            + " device (" + d.source().get() + "); Lencap restores disks into files: name a " + DIRECTORY);
      }
      Path source = d.source().get();
      // An overlay left by an interrupted capture: the disk is its base.
      return source.getFileName().toString().contains(".lencap-") && d.backing().isPresent() ? d.backing().get() : source;
    }
    if (directory.isEmpty()) {
      throw new InvalidSpecException(field, what + ": " + (replaced.isEmpty() ? "there is no domain " + domainName
          + " to restore over" : "the replaced domain " + domainName + " has no file disk " + dev)
          + ", and Lencap never writes to a host path read from the store: name the directory for its disks, e.g. "
          + ".property(\"" + DIRECTORY + "\", \"/var/lib/libvirt/images\")");
    }
    return directory.get().resolve(domainName + "-" + dev + "." + format);
  }

  /** Where a file-backed console of a domain with no such file in the replaced domain goes. */
  Optional<Path> characterFile(String name) {
    return directory.map(d -> d.resolve(domainName + "-" + name + ".log"));
  }
}
