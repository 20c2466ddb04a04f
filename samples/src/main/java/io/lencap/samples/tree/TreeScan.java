package io.lencap.samples.tree;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
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
 * changing. The quiesce marker in the root is never listed.
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
          String name = child.getFileName().toString();
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

  SortedMap<String, PosixFileAttributes> nodes() {
    return nodes;
  }

  long fileBytes() {
    return nodes.values().stream().filter(PosixFileAttributes::isRegularFile)
        .mapToLong(PosixFileAttributes::size).sum();
  }
}
