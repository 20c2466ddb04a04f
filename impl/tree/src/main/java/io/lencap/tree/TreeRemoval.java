package io.lencap.tree;

import java.io.IOException;
import java.util.Optional;

/**
 * Deletes one entry of a tree with everything below it, over {@link TreeFiles}: what a provider's discarder does to
 * a tree a restore created (a drill's sandbox). Symlinks are removed as links, never followed; an entry already gone
 * is not an error, so that a removal can be run again.
 */
public final class TreeRemoval {
  private TreeRemoval() {}

  /** Removes {@code name} in {@code dir} and, if it is a directory, all it holds. */
  public static <H> void remove(TreeFiles<H> files, H dir, byte[] name, String path) throws IOException {
    Optional<TreeNode<H>> node = files.lookup(dir, name, path);
    if (node.isEmpty()) {
      return;
    }
    if (node.get().attrs().kind() == FileAttrs.Kind.DIRECTORY) {
      H handle = node.get().handle();
      for (TreeNode<H> child : files.list(handle, path)) {
        remove(files, handle, child.name(), path + "/" + StoredNames.of(child.name()));
      }
      files.rmdir(dir, name, path);
    } else {
      files.remove(dir, name, path);
    }
  }
}
