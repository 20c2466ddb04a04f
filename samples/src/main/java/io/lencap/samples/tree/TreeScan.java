package io.lencap.samples.tree;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The metadata of a tree, by relative '/'-separated path, read in one walk that never follows a symlink
 * (a symlink is reported as itself). Entries that vanish during the walk are left out: the tree may be
 * changing. The quiesce marker in the root is never listed. A name Java cannot carry exactly fails the scan
 * (see {@link #exactName}).
 */
final class TreeScan {
  private final SortedMap<String, PosixFileAttributes> nodes;

  private TreeScan(SortedMap<String, PosixFileAttributes> nodes) {
    this.nodes = Collections.unmodifiableSortedMap(nodes);
  }

  /** Walks the tree under {@code root}; every parent sorts before its children. */
  static TreeScan of(Path root) throws IOException {
    SortedMap<String, PosixFileAttributes> nodes = new TreeMap<>();
    Deque<String> pending = new ArrayDeque<>();
    pending.push("");
    while (!pending.isEmpty()) {
      String dir = pending.pop();
      try (DirectoryStream<Path> children = Files.newDirectoryStream(dir.isEmpty() ? root : root.resolve(dir))) {
        for (Path child : children) {
          String name = exactName(child, dir);
          if (dir.isEmpty() && name.equals(DirectoryTreeProvider.QUIESCE_MARKER)) {
            continue;
          }
          String path = dir.isEmpty() ? name : dir + "/" + name;
          PosixFileAttributes attrs;
          try {
            attrs = Files.readAttributes(child, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          } catch (NoSuchFileException gone) {
            continue;
          }
          nodes.put(path, attrs);
          if (attrs.isDirectory()) {
            pending.push(path);
          }
        }
      } catch (NoSuchFileException | NotDirectoryException gone) {
        if (dir.isEmpty()) {
          throw gone;
        }
        // A directory deleted or replaced while we walked: the final pass sees what is there now.
      }
    }
    return new TreeScan(nodes);
  }

  /**
   * The child's name as a string that names it again. The JDK decodes file names with the JVM's
   * {@code sun.jnu.encoding} (set from the locale: UTF-8, or ASCII under {@code LC_ALL=C}, and not changed
   * by {@code -Dsun.jnu.encoding}) and offers no public way to the bytes: a name not valid in it decodes to
   * replacement characters and cannot be opened, stored or restored by its string. Rather than drop such
   * an entry, the scan fails naming it.
   */
  private static String exactName(Path child, String dir) throws FileSystemException {
    String name = child.getFileName().toString();
    boolean exact;
    try {
      exact = child.getFileSystem().getPath(child.toString()).equals(child); // UnixPath compares bytes
    } catch (InvalidPathException e) {
      exact = false;
    }
    if (!exact) {
      String shown = (dir.isEmpty() ? "" : dir + "/") + name;
      throw new FileSystemException(child.toString(), null, "cannot capture '" + RestorePlan.printable(shown)
          + "': its name is not valid in this JVM's file name encoding (sun.jnu.encoding="
          + System.getProperty("sun.jnu.encoding") + "), so Java cannot name it exactly; run under a UTF-8 "
          + "locale (LANG=C.UTF-8), or rename it (names that are not UTF-8 need the NFS provider)");
    }
    return name;
  }

  SortedMap<String, PosixFileAttributes> nodes() {
    return nodes;
  }

  long fileBytes() {
    return nodes.values().stream().filter(PosixFileAttributes::isRegularFile)
        .mapToLong(PosixFileAttributes::size).sum();
  }
}
