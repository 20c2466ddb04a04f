package io.lencap.tree;

import io.lencap.tree.TreeFileException.Reason;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The handles of a tree's directories by path, as a restore knows them: from its walk, or from creating
 * them. A handle may go stale (a directory replaced on an NFS server, or served from a caching server's
 * memory after it was replaced behind its back): a call that fails with {@link Reason#STALE} on a
 * directory's handle looks the directory up again by path and runs once more.
 */
final class DirectoryHandles<H> {
  private static final System.Logger log = System.getLogger(DirectoryHandles.class.getName());
  private final TreeFiles<H> fs;
  private final Map<String, H> handles = new ConcurrentHashMap<>();

  DirectoryHandles(TreeFiles<H> fs) {
    this.fs = fs;
  }

  /** A call on a directory's handle. */
  interface DirCall<H, T> {
    T run(H dir) throws IOException;
  }

  void put(String dirPath, H handle) {
    handles.put(dirPath, handle);
  }

  void remove(String dirPath) {
    handles.remove(dirPath);
  }

  /** Runs a call on a directory's handle; on a stale handle, looks the directory up by path and runs again. */
  <T> T inDir(String dirPath, DirCall<H, T> call) throws IOException {
    H h = handles.get(dirPath);
    if (h != null) {
      try {
        return call.run(h);
      } catch (TreeFileException e) {
        if (e.reason() != Reason.STALE || dirPath.isEmpty()) {
          throw e;
        }
        log.log(Level.DEBUG, "{0}: handle of {1} went stale; looking it up again", fs.where(),
            StoredNames.printable(dirPath));
      }
    }
    TreeNode<H> fresh = fs.lookupPath(dirPath).filter(d -> d.attrs().kind() == FileAttrs.Kind.DIRECTORY)
        .orElseThrow(() -> new IOException(fs.where() + ": directory '" + StoredNames.printable(dirPath)
            + "' of the checkpoint disappeared from the tree during the restore"));
    handles.put(dirPath, fresh.handle());
    return call.run(fresh.handle());
  }
}
