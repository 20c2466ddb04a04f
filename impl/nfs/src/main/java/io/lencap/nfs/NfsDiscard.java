package io.lencap.nfs;

import io.lencap.api.InvalidSpecException;
import io.lencap.spi.Discarder;
import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeRemoval;
import java.io.IOException;

/**
 * Deletes a tree a restore created on an NFS server (a drill's sandbox), its root directory included: the
 * directory's parent is mounted and the tree removed below it, symlinks as links. A tree that is an export itself
 * cannot be removed over NFS and is refused.
 */
final class NfsDiscard implements Discarder {
  private final NfsLocator parent;
  private final String name;

  NfsDiscard(NfsLocator tree) {
    int slash = tree.path().lastIndexOf('/');
    String parentPath = slash <= 0 ? "/" : tree.path().substring(0, slash);
    if (tree.path().equals("/") || tree.export().map(e -> !parentPath.equals(e) && !parentPath.startsWith(e + "/")
        && !e.equals("/")).orElse(false)) {
      throw new InvalidSpecException(tree.field(), tree.describe() + " is an export itself, which cannot be removed "
          + "over NFS; restore a drill's sandbox into a directory below an export");
    }
    this.parent = new NfsLocator(tree.field(), tree.host(), parentPath, tree.export(), tree.uid(), tree.gid());
    this.name = tree.path().substring(slash + 1);
  }

  @Override
  public void discard() throws IOException {
    NfsSession s = NfsSession.open(parent);
    TreeRemoval.remove(s, s.root(), StoredNames.bytesOf(name), name);
  }
}
