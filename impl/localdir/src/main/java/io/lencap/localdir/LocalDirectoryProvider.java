package io.lencap.localdir;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Discarder;
import io.lencap.spi.Health;
import io.lencap.spi.PropertySpec;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Directory trees on a local file system: {@code file:///path/to/dir}, type {@link ResourceType#FILE_TREE},
 * captured and restored by the tree engine the NFS provider uses too (one manifest format, one check, one
 * restore).
 *
 * <pre>{@code
 * Resource data = Resource.of("data", ResourceType.FILE_TREE, "file:///srv/job-42/data");
 * }</pre>
 *
 * <p><b>Capture.</b> {@code prepare} copies the tree while it keeps changing (content-defined chunks), and
 * takes files unchanged since the parent checkpoint (same inode, size, mtime and ctime) from it without
 * reading them. A directory has no kernel freeze, so {@code quiesce} writes the marker file
 * {@value #QUIESCE_MARKER} in the tree's root; cooperating writers check for it before they start a write
 * and wait while it exists:
 * <pre>{@code
 * Path marker = root.resolve(LocalDirectoryProvider.QUIESCE_MARKER);
 * while (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
 *   Thread.sleep(10); // the pause lasts the final pass: milliseconds for thousands of files
 * }
 * write(...);
 * }</pre>
 * The marker is advisory; it survives the death of the capturing process, and the engine's crash repair
 * calls {@code resume()} on a fresh driver, which removes it. The cut is the final pass inside the quiesce
 * window: metadata of the whole tree, content of what changed since the pre-copy. Owners, modes (set-id
 * bits included), times (nanoseconds), symlinks (as links, loops too) and hard links (as links) are kept;
 * special files (FIFOs, sockets, devices) are skipped with a note; extended attributes and ACLs are not
 * captured.
 *
 * <p><b>Restore</b> is differential, in place or onto another directory: files that are still the captured
 * object are left alone, the captured file changed in place is rewritten chunk by chunk, anything else under
 * a name is replaced by a new file renamed into place (never written through: it may be a hard link to a
 * file outside the tree), sparse files stay sparse. The manifest is checked before anything is written
 * (paths, names, modes, times, symlinks that would lead out of the tree), every chunk is verified in
 * {@code prepareRestore}, no symlink is followed on the way to any object, directories are 0700 until the
 * restore is done, and FIFOs or devices in the way are removed without being opened. Resource properties:
 * {@value #FSYNC} ({@code true} forces each restored file to disk), {@value #THREADS} (files copied at
 * once, 1 to 64, default 4).
 */
public final class LocalDirectoryProvider implements ResourceProvider {
  /** The file whose presence in the tree's root asks writers to pause; never part of the state. */
  public static final String QUIESCE_MARKER = ".lencap-quiesced";
  /**
   * Resource property: {@code true} forces each file a restore writes to disk (durable against power loss,
   * slower for many small files); {@code false}, the default, leaves flushing to the operating system.
   */
  public static final String FSYNC = "fsync";
  /** Resource property: files and directories worked on at once, 1 to 64 (default 4). */
  public static final String THREADS = "threads";

  @Override
  public String name() {
    return "local-directory";
  }

  @Override
  public Support supports(Resource resource) {
    if (resource.type() != ResourceType.FILE_TREE) {
      return Support.no("type " + resource.type().shortName() + " is not a tree");
    }
    String problem = locatorProblem(resource.locator());
    return problem == null ? Support.yes() : Support.no(problem);
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return new LocalDirectoryDriver(resource, root(resource), fsync(resource), threads(resource));
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    Path root = root(resource);
    return () -> health(root);
  }

  /** Deletes a directory a restore created (a drill's sandbox), symlinks as links. */
  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return Optional.of(new LocalTreeDiscard(restored.id(), root(restored)));
  }

  /** Failed when the root is gone or unreadable; degraded while a quiesce marker makes writers wait. */
  static Health health(Path root) {
    if (!Files.isDirectory(root)) {
      return Health.failed(root + (Files.exists(root) ? " is not a directory" : " does not exist"));
    }
    if (!Files.isReadable(root) || !Files.isExecutable(root)) {
      return Health.failed(root + " is not readable");
    }
    Path marker = root.resolve(QUIESCE_MARKER);
    if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
      return Health.degraded("quiesced: " + marker + " exists, cooperating writers are waiting");
    }
    return Health.healthy();
  }

  @Override
  public List<PropertySpec> properties() {
    return List.of(
        PropertySpec.property(FSYNC, "false", "true forces each file a restore writes to disk (durable against "
            + "power loss, slower for many small files)"),
        PropertySpec.property(THREADS, "4", "files and directories worked on at once, 1 to 64"));
  }

  private static boolean fsync(Resource resource) {
    String value = resource.property(FSYNC).orElse("false");
    if (!value.equals("true") && !value.equals("false")) {
      throw new InvalidSpecException("resources[" + resource.id() + "].properties." + FSYNC,
          "must be true or false, was '" + value + "'");
    }
    return value.equals("true");
  }

  private static int threads(Resource resource) {
    String value = resource.property(THREADS).orElse("4");
    try {
      int n = Integer.parseInt(value);
      if (n >= 1 && n <= 64) {
        return n;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new InvalidSpecException("resources[" + resource.id() + "].properties." + THREADS,
        "must be an integer from 1 to 64, was '" + value + "'");
  }

  /** The tree's root directory named by a resource's {@code file:} locator. */
  static Path root(Resource resource) {
    String problem = locatorProblem(resource.locator());
    if (problem != null) {
      throw new InvalidSpecException("resources[" + resource.id() + "].locator", problem);
    }
    return Path.of(resource.locator()).toAbsolutePath().normalize();
  }

  private static @Nullable String locatorProblem(URI locator) {
    if (!"file".equalsIgnoreCase(locator.getScheme())) {
      return "scheme " + locator.getScheme() + " is not file (expected file:///path/to/directory)";
    }
    if (locator.isOpaque() || locator.getPath() == null || !locator.getPath().startsWith("/")) {
      return "'" + locator + "' has no absolute path (expected file:///path/to/directory)";
    }
    if (locator.getRawAuthority() != null && !locator.getRawAuthority().isEmpty()) {
      return "'" + locator + "' names a host; only local directories are supported (file:///path)";
    }
    if (locator.getRawQuery() != null || locator.getRawFragment() != null) {
      return "'" + locator + "' has a query or fragment; a directory locator is file:///path only";
    }
    return null;
  }
}
