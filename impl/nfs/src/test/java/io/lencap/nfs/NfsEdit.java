package io.lencap.nfs;

import io.lencap.api.Resource;
import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Changes a tree through NFS (so that a caching server sees it), addressed by local paths under its root. */
final class NfsEdit {
  private final NfsSession s;
  private final Path root;

  NfsEdit(Resource resource, Path root) {
    this.s = NfsSession.open(NfsLocator.of(resource));
    this.root = root;
  }

  void append(Path file, byte[] data) throws IOException {
    TreeNode<byte[]> n = node(file);
    overwrite(n, n.attrs().size(), data);
  }

  void overwrite(Path file, long offset, byte[] data) throws IOException {
    overwrite(node(file), offset, data);
  }

  void create(Path file, byte[] data) throws IOException {
    String rel = root.relativize(file).toString();
    byte[] fh = s.createNew(node(file.getParent()).handle(), StoredNames.bytesOf(file.getFileName().toString()), 0644,
        0, 0, rel);
    s.write(fh, 0, ByteBuffer.wrap(data), rel);
    s.commit(fh, rel);
  }

  private void overwrite(TreeNode<byte[]> n, long offset, byte[] data) throws IOException {
    s.write(n.handle(), offset, ByteBuffer.wrap(data), n.path());
    s.commit(n.handle(), n.path());
  }

  private TreeNode<byte[]> node(Path p) throws IOException {
    byte[] dir = s.root();
    TreeNode<byte[]> n = new TreeNode<>("", new byte[0], s.getattr(dir, ""), dir);
    for (Path name : root.relativize(p)) {
      if (name.toString().isEmpty()) {
        continue;
      }
      n = s.lookup(n.handle(), StoredNames.bytesOf(name.toString()), p.toString()).orElseThrow(() -> new IOException("no " + p));
    }
    return n;
  }
}
