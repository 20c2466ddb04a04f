package io.lencap.tree;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.function.BooleanSupplier;

/**
 * Lists a whole tree one directory level at a time, the directories of a level in parallel (over NFS one
 * READDIRPLUS round trip brings ~1,000 names with attributes and handles). Parents come before their
 * children. A directory that vanished or whose handle went stale while we walked is looked up again by path
 * and listed as it is now, or left out when it is gone.
 */
final class TreeWalker {
  private TreeWalker() {}

  static <H> List<TreeNode<H>> walk(TreeFiles<H> files, ExecutorService pool, BooleanSupplier cancelled)
      throws Exception {
    List<TreeNode<H>> all = new ArrayList<>();
    List<TreeNode<H>> level = List.of(new TreeNode<>("", new byte[0], null, files.root()));
    while (!level.isEmpty()) {
      if (cancelled.getAsBoolean()) {
        throw new CancellationException("cancelled while listing " + files.where());
      }
      List<Callable<List<TreeNode<H>>>> tasks = new ArrayList<>();
      for (TreeNode<H> dir : level) {
        tasks.add(() -> listNow(files, dir));
      }
      List<TreeNode<H>> next = new ArrayList<>();
      for (List<TreeNode<H>> children : Parallel.all(pool, tasks)) {
        for (TreeNode<H> n : children) {
          all.add(n);
          if (n.attrs().kind() == FileAttrs.Kind.DIRECTORY) {
            next.add(n);
          }
        }
      }
      level = next;
    }
    return all;
  }

  private static <H> List<TreeNode<H>> listNow(TreeFiles<H> files, TreeNode<H> dir) throws IOException {
    try {
      return files.list(dir.handle(), dir.path());
    } catch (IOException e) {
      if (!TreeFileException.vanished(e) || dir.path().isEmpty()) {
        throw e;
      }
    }
    // Gone, or its handle went stale (replaced on the server, maybe behind a caching server's back):
    // list what is under the path now, if anything.
    Optional<TreeNode<H>> now = files.lookupPath(dir.path());
    if (now.isEmpty() || now.get().attrs().kind() != FileAttrs.Kind.DIRECTORY) {
      return List.of(); // removed while we walked: the next pass sees it gone
    }
    try {
      return files.list(now.get().handle(), dir.path());
    } catch (IOException e) {
      if (TreeFileException.vanished(e)) {
        return List.of();
      }
      throw e;
    }
  }
}
