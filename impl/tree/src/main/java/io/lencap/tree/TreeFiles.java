package io.lencap.tree;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The file operations the tree engine needs, over a tree whose objects are addressed by handles of type
 * {@code H} (NFS file handles, or a local directory's relative paths). Names and symlink targets are their
 * exact bytes; {@code path} arguments are the stored form ({@link StoredNames}) of the object's path below
 * the root, for messages and for looking an object up again. No operation follows a symlink: a name is
 * always the object itself. Failures that the engine acts on are {@link TreeFileException}s with a
 * {@link TreeFileException.Reason}; any other {@link IOException} fails the operation.
 *
 * @param <H> a handle: what names one object of the tree for the operations below
 */
public interface TreeFiles<H> {
  /** The tree as messages name it (a locator, a directory). */
  String where();

  /** The tree's root directory. */
  H root();

  FileAttrs getattr(H object, String path) throws IOException;

  /** The entries of a directory ({@code .} and {@code ..} left out) with attributes and handles. */
  List<TreeNode<H>> list(H dir, String dirPath) throws IOException;

  /** The entry under {@code name}, or empty when there is none; a stale {@code dir} throws. */
  Optional<TreeNode<H>> lookup(H dir, byte[] name, String path) throws IOException;

  /** What one read returned: {@code bytes} read, {@code eof} when the file ends with them. */
  record Read(int bytes, boolean eof) {}

  /** Reads up to {@code length} bytes at {@code offset} of a regular file into {@code buffer} at {@code at}. */
  Read read(H file, long offset, byte[] buffer, int at, int length, String path) throws IOException;

  /**
   * Where data starts at or after {@code offset} in a regular file of {@code size} bytes (as listed): a larger offset
   * skips a hole, which a capture then takes as zeros without reading it, so that a sparse file costs what it holds.
   * {@code offset} itself when it is data or when the tree cannot tell (the default); {@code size} when only a hole
   * is left. It only decides what is read: a file that changes meanwhile is read again like any other.
   */
  default long dataFrom(H file, long offset, long size, String path) throws IOException {
    return offset;
  }

  byte[] readlink(H link, String path) throws IOException;

  /** Writes all of {@code data} at {@code offset}; {@link #commit} makes it durable. */
  void write(H file, long offset, ByteBuffer data, String path) throws IOException;

  /** Makes what was written to a file durable, as far as the tree promises. */
  void commit(H file, String path) throws IOException;

  /**
   * Writes all of {@code data} at offset 0 of a new, empty file and makes it durable: {@link #write} then
   * {@link #commit}, which a tree may do in one call (NFS: one WRITE the server makes stable before it answers,
   * instead of a WRITE and a COMMIT; a restore of small files pays one round trip less per file).
   */
  default void writeDurably(H file, ByteBuffer data, String path) throws IOException {
    write(file, 0, data, path);
    commit(file, path);
  }

  /**
   * Creates a regular file that did not exist, empty, with its mode and owner: fails with
   * {@link TreeFileException.Reason#EXISTS} rather than open what is there.
   */
  H createNew(H dir, byte[] name, int mode, long uid, long gid, String path) throws IOException;

  H mkdir(H dir, byte[] name, int mode, String path) throws IOException;

  H symlink(H dir, byte[] name, byte[] target, String path) throws IOException;

  /** Gives the regular file {@code file} one more name (a hard link) in {@code dir}. */
  void link(H file, H dir, byte[] name, String path) throws IOException;

  /** Removes a file or symlink (never what it points to). */
  void remove(H dir, byte[] name, String path) throws IOException;

  void rmdir(H dir, byte[] name, String path) throws IOException;

  /** Renames, replacing what is under {@code to}. */
  void rename(H fromDir, byte[] from, H toDir, byte[] to, String path) throws IOException;

  /**
   * Sets what is not null; a size extends a file without writing (a hole) or cuts it. Times are nanoseconds
   * since the epoch (a tree may keep fewer digits).
   */
  void setattr(H object, SetAttrs attrs, String path) throws IOException;

  /** What {@link #setattr} sets; null leaves a field as it is. */
  record SetAttrs(Integer mode, Long uid, Long gid, Long size, Long atime, Long mtime) {
    static SetAttrs size(long size) {
      return new SetAttrs(null, null, null, size, null, null);
    }
  }

  /** Looks a path up afresh from the root, one name at a time; empty when a name is not there. */
  default Optional<TreeNode<H>> lookupPath(String path) throws IOException {
    if (path.isEmpty()) {
      return Optional.of(new TreeNode<>("", new byte[0], getattr(root(), ""), root()));
    }
    H dir = root();
    int start = 0;
    while (true) {
      int slash = path.indexOf('/', start);
      String name = slash < 0 ? path.substring(start) : path.substring(start, slash);
      Optional<TreeNode<H>> n = lookup(dir, StoredNames.bytesOf(name), slash < 0 ? path : path.substring(0, slash));
      if (slash < 0 || n.isEmpty()) {
        return n;
      }
      if (n.get().attrs().kind() != FileAttrs.Kind.DIRECTORY) {
        return Optional.empty();
      }
      dir = n.get().handle();
      start = slash + 1;
    }
  }
}
