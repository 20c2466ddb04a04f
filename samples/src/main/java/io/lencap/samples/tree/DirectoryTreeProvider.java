package io.lencap.samples.tree;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import java.net.URI;
import java.nio.file.Path;

/**
 * A custom provider, as a sample of extending Lencap: a directory tree on a local file system, as a
 * {@link ResourceType#FILE_TREE} resource located by a {@code file:} URI.
 *
 * <pre>{@code
 * Resource data = Resource.of("data", ResourceType.FILE_TREE, "file:///srv/job-42/data");
 * }</pre>
 *
 * <p><b>Capture.</b> {@code prepare} copies every regular file while the tree keeps changing
 * (content-defined chunks, so an edit in the middle of a large file stores only the chunks around it), and
 * reuses files unchanged since the parent checkpoint (same size, modification time, inode and mode) without
 * reading them. A directory has no kernel freeze, so {@code quiesce} writes the marker file
 * {@value #QUIESCE_MARKER} in the tree's root.
 *
 * <p><b>Cooperating writers</b> check for the marker before they start a write and wait while it exists:
 * <pre>{@code
 * Path marker = root.resolve(DirectoryTreeProvider.QUIESCE_MARKER);
 * while (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
 *   Thread.sleep(10); // the pause lasts the final pass: milliseconds for thousands of files
 * }
 * write(...);
 * }</pre>
 * The marker is advisory, like a maintenance flag: a writer that ignores it, or a write already under way
 * when it appears, can still change a file during the final pass (a file that keeps changing is noted in the
 * checkpoint). The marker survives the death of the capturing process; the engine's crash repair calls
 * {@code resume()} on a fresh driver, which removes it.
 *
 * <p>The cut is a short final pass inside the quiesce window: it walks the metadata, copies again only the
 * files that changed since the pre-copy (or whose copy may be stale), drops files deleted meanwhile and
 * records directories, symlinks (target in the attribute {@code target}), modes and modification times.
 * The state is then complete, so the cut is live and the transfer has nothing left to do.
 *
 * <p><b>Restore</b> is differential, in place or onto another directory ({@link io.lencap.api.Placement}
 * with another {@code file:} locator): files whose content matches the checkpoint are left alone (not even
 * their inode changes), the others are written to a temporary file in the same directory and renamed over
 * the old one, and entries absent from the checkpoint are deleted. Stored paths are untrusted: absolute
 * paths, {@code ..}, {@code .} or empty segments, and entries under a symlink or a file are refused before
 * anything is written. Symlinks are restored verbatim and never followed, neither when walking nor when
 * writing. {@code prepareRestore} verifies every chunk of the checkpoint, so a corrupt checkpoint changes
 * nothing. The resource property {@value #FSYNC} chooses whether restored files are forced to disk.
 *
 * <p>Not captured: owners and groups, set-id and sticky bits, access times (reading a file for the capture
 * changes them), sub-microsecond times of symlinks (the JDK sets them through lutimes(2)), extended
 * attributes and ACLs; hard links are captured as separate files; special files (FIFOs, sockets, devices)
 * are skipped with a note. Change detection trusts modification times as rsync does, on a local file
 * system with fine-grained timestamps. Walks and writes assume no one renames directories inside the tree
 * while they run (hostile renames of a parent into a symlink are not defended against).
 */
public final class DirectoryTreeProvider implements ResourceProvider {
  /** The file whose presence in the tree's root asks writers to pause; never part of the state. */
  public static final String QUIESCE_MARKER = ".lencap-quiesced";
  /**
   * Resource property: {@code true} forces each file a restore writes to disk before renaming it into
   * place (durable against power loss, several times slower for many small files); {@code false}, the
   * default, leaves flushing to the operating system, as rsync and tar do.
   */
  public static final String FSYNC = "fsync";

  @Override
  public String name() {
    return "directory-tree";
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
    return new DirectoryTreeDriver(resource, root(resource), fsync(resource));
  }

  private static boolean fsync(Resource resource) {
    String value = resource.property(FSYNC).orElse("false");
    if (!value.equals("true") && !value.equals("false")) {
      throw new InvalidSpecException("resources[" + resource.id() + "].properties." + FSYNC,
          "must be true or false, was '" + value + "'");
    }
    return value.equals("true");
  }

  /** The tree's root directory named by a resource's {@code file:} locator. */
  static Path root(Resource resource) {
    String problem = locatorProblem(resource.locator());
    if (problem != null) {
      throw new InvalidSpecException("resources[" + resource.id() + "].locator", problem);
    }
    return Path.of(resource.locator()).toAbsolutePath().normalize();
  }

  private static String locatorProblem(URI locator) {
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
