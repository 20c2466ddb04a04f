package io.lencap.localdir;

import io.lencap.tree.FileAttrs;
import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeFileException;
import io.lencap.tree.TreeFileException.Reason;
import io.lencap.tree.TreeFiles;
import io.lencap.tree.TreeNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A local directory as the tree engine's {@link TreeFiles}. A handle is an object's path below the root in
 * stored form ({@code ""} for the root). Every operation opens the directories on the way one by one from the
 * root, each relative to the last and without following a symlink ({@link SecureDirectoryStream}, openat(2)
 * with O_NOFOLLOW), and acts relative to the last one, so that a directory replaced by a symlink during a
 * restore fails the operation instead of leading it out of the tree. The JDK offers no mkdirat, symlinkat,
 * linkat or utimensat on a symlink: those go by path after the directories were opened so, and what they
 * made is checked through the opened directory (same file key), so a swap in between fails the restore
 * (it may have left an empty directory or a link elsewhere, never written content there). Objects are
 * stat'ed before they are opened, and only regular files and directories are ever opened: a FIFO or a
 * device is never opened (a swap in between could still make an open block). Owners are set only when
 * they differ, and silently left when the process may not set them (not root).
 *
 * <p>Names are bytes in the JVM's file name encoding ({@link LocalNames}): the JDK cannot name a file whose
 * name is not valid in it, so listing such a name, or restoring one, fails naming it. Attributes are one
 * lstat ({@link LocalAttributes}). About 450 lines: one method per {@link TreeFiles} operation plus the
 * directory walk they share, which belong together as the one place that touches the local file system.
 */
final class LocalFiles implements TreeFiles<String> {
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

  private final Path root;
  private final LocalNames names;
  private final String skipInRoot;
  private final boolean fsync;

  /**
   * @param root the tree's root directory
   * @param skipInRoot a name in the root that is never part of the tree (the quiesce marker)
   * @param fsync whether {@link #commit} forces a file to disk
   */
  LocalFiles(Path root, String skipInRoot, boolean fsync) {
    this.root = root;
    this.names = new LocalNames(root);
    this.skipInRoot = skipInRoot;
    this.fsync = fsync;
  }

  @Override
  public String where() {
    return root.toString();
  }

  @Override
  public String root() {
    return "";
  }

  @Override
  public FileAttrs getattr(String object, String path) throws IOException {
    if (object.isEmpty()) {
      return LocalAttributes.of(LocalAttributes.read(root, "", this::translate));
    }
    try (SecureDirectoryStream<Path> dir = openDir(parentOf(object))) {
      return checkedAttrs(dir, names.javaName(nameOf(object), object), object);
    }
  }

  @Override
  public List<TreeNode<String>> list(String dirPath, String ignored) throws IOException {
    List<TreeNode<String>> out = new ArrayList<>();
    try (SecureDirectoryStream<Path> dir = openDir(dirPath)) {
      for (Path child : dir) {
        String name = child.getFileName().toString();
        String path = dirPath.isEmpty() ? name : dirPath + "/" + name;
        if (!LocalNames.exact(child.getFileName())) {
          throw new TreeFileException(Reason.OTHER, root + ": cannot capture '" + StoredNames.printable(path)
              + "': its name is not valid in this JVM's file name encoding (sun.jnu.encoding=" + LocalNames.CHARSET
              + "), so Java cannot name it exactly; run under a UTF-8 locale (LANG=C.UTF-8), or rename it", null);
        }
        if (dirPath.isEmpty() && name.equals(skipInRoot)) {
          continue;
        }
        try {
          out.add(new TreeNode<>(path, name.getBytes(LocalNames.CHARSET), checkedAttrs(dir, child.getFileName(), path), path));
        } catch (TreeFileException gone) {
          if (gone.reason() != Reason.NOT_FOUND) {
            throw gone;
          }
        }
      }
    } catch (java.nio.file.DirectoryIteratorException e) {
      throw translate(java.util.Objects.requireNonNull(e.getCause()), dirPath); // an IOException, never null
    }
    return out;
  }

  @Override
  public Optional<TreeNode<String>> lookup(String dir, byte[] name, String path) throws IOException {
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      return Optional.of(new TreeNode<>(path, name, checkedAttrs(d, names.javaName(name, path), path), path));
    } catch (TreeFileException e) {
      if (e.reason() == Reason.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public Read read(String file, long offset, byte[] buffer, int at, int length, String path) throws IOException {
    try (FileChannel c = openFile(file, Set.of(StandardOpenOption.READ, NOFOLLOW))) {
      int n = c.read(ByteBuffer.wrap(buffer, at, length), offset);
      return n < 0 ? new Read(0, true) : new Read(n, offset + n >= c.size());
    }
  }

  @Override
  public long dataFrom(String file, long offset, long size, String path) {
    return LocalHoles.dataFrom(root, file, offset, size);
  }

  @Override
  public byte[] readlink(String link, String path) throws IOException {
    Path p = absolute(link);
    try {
      Path target;
      try {
        target = Files.readSymbolicLink(p);
      } catch (java.nio.file.NotLinkException replaced) {
        throw new TreeFileException(Reason.NOT_FOUND, root + ": '" + StoredNames.printable(link)
            + "' is no longer a symlink", replaced);
      }
      if (!LocalNames.exact(target)) {
        throw new TreeFileException(Reason.OTHER, root + ": cannot capture the target of symlink '"
            + StoredNames.printable(link) + "': it is not valid in this JVM's file name encoding", null);
      }
      return target.toString().getBytes(LocalNames.CHARSET);
    } catch (IOException e) {
      throw translate(e, link);
    }
  }

  @Override
  public void write(String file, long offset, ByteBuffer data, String path) throws IOException {
    try (FileChannel c = openFile(file, Set.of(StandardOpenOption.WRITE, NOFOLLOW))) {
      ByteBuffer d = data.duplicate();
      long at = offset;
      while (d.hasRemaining()) {
        at += c.write(d, at);
      }
    }
  }

  @Override
  public void commit(String file, String path) throws IOException {
    if (fsync) {
      try (FileChannel c = openFile(file, Set.of(StandardOpenOption.WRITE, NOFOLLOW))) {
        c.force(true);
      }
    }
  }

  @Override
  public String createNew(String dir, byte[] name, int mode, long uid, long gid, String path) throws IOException {
    String child = childOf(dir, name, path);
    try (SecureDirectoryStream<Path> d = openDir(dir);
        SeekableByteChannel c = d.newByteChannel(names.javaName(name, path),
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, NOFOLLOW),
            PosixFilePermissions.asFileAttribute(LocalAttributes.permissions(mode)))) {
      return child;
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  @Override
  public String mkdir(String dir, byte[] name, int mode, String path) throws IOException {
    String child = childOf(dir, name, path);
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      Path p = absolute(child);
      try {
        Files.createDirectory(p, PosixFilePermissions.asFileAttribute(LocalAttributes.permissions(mode)));
      } catch (IOException e) {
        throw translate(e, path);
      }
      madeWhereOpened(d, names.javaName(name, path), p, path);
      return child;
    }
  }

  @Override
  public String symlink(String dir, byte[] name, byte[] target, String path) throws IOException {
    String child = childOf(dir, name, path);
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      Path p = absolute(child);
      try {
        Files.createSymbolicLink(p, names.javaPath(target, path));
      } catch (IOException e) {
        throw translate(e, path);
      }
      madeWhereOpened(d, names.javaName(name, path), p, path);
      return child;
    }
  }

  @Override
  public void link(String file, String dir, byte[] name, String path) throws IOException {
    String child = childOf(dir, name, path);
    Object fileKey;
    try (SecureDirectoryStream<Path> d = openDir(parentOf(file))) {
      fileKey = stat(d, names.javaName(nameOf(file), file), file).fileKey();
    }
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      Path p = absolute(child);
      try {
        Files.createLink(p, absolute(file));
      } catch (IOException e) {
        throw translate(e, path);
      }
      Path n = names.javaName(name, path);
      if (!fileKey.equals(stat(d, n, path).fileKey())) {
        d.deleteFile(n);
        throw changedUnder(path);
      }
    }
  }

  @Override
  public void remove(String dir, byte[] name, String path) throws IOException {
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      d.deleteFile(names.javaName(name, path)); // unlinkat: a symlink or FIFO itself, never opened or followed
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  @Override
  public void rmdir(String dir, byte[] name, String path) throws IOException {
    try (SecureDirectoryStream<Path> d = openDir(dir)) {
      d.deleteDirectory(names.javaName(name, path));
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  @Override
  public void rename(String fromDir, byte[] from, String toDir, byte[] to, String path) throws IOException {
    try (SecureDirectoryStream<Path> f = openDir(fromDir); SecureDirectoryStream<Path> t = openDir(toDir)) {
      f.move(names.javaName(from, path), t, names.javaName(to, path)); // renameat
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  /**
   * Sets size, times, owner, then mode: times and size need the object opened, which its final mode may
   * forbid. Times, owner and mode go by path (the JDK has no utimensat or fchmodat relative to a directory),
   * right after {@link #getattr} checked that the path names the object the opened directories show.
   * Symlinks get times only.
   */
  @Override
  public void setattr(String object, SetAttrs set, String path) throws IOException {
    Path abs = absolute(object);
    FileAttrs now;
    try {
      now = getattr(object, path);
    } catch (IOException e) {
      throw translate(e, path);
    }
    if (now.kind() == FileAttrs.Kind.OTHER) {
      throw new TreeFileException(Reason.OTHER, root + ": '" + StoredNames.printable(path)
          + "' is a special file (FIFO, device or socket): not opened", null);
    }
    try {
      if (set.size() != null && set.size() != now.size()) {
        try (FileChannel c = openFile(object, Set.of(StandardOpenOption.WRITE, NOFOLLOW))) {
          if (set.size() < now.size()) {
            c.truncate(set.size());
          } else {
            c.write(ByteBuffer.allocate(1), set.size() - 1); // the rest stays a hole
          }
        }
      }
      if (set.mtime() != null || set.atime() != null) {
        FileTime m = set.mtime() == null ? null : FileTime.from(set.mtime(), TimeUnit.NANOSECONDS);
        FileTime a = set.atime() == null ? null : FileTime.from(set.atime(), TimeUnit.NANOSECONDS);
        // By path, after the check above: the opened directory's view sets whole microseconds only (futimes)
        Files.getFileAttributeView(abs, BasicFileAttributeView.class, NOFOLLOW).setTimes(m, a, null);
      }
      if (now.kind() == FileAttrs.Kind.SYMLINK) {
        return; // a symlink's mode means nothing; its owner is not worth a path-based lchown
      }
      setOwner(abs, "unix:uid", set.uid(), now.uid());
      setOwner(abs, "unix:gid", set.gid(), now.gid());
      if (set.mode() != null && set.mode() != now.mode()) {
        // unix:mode keeps set-id and sticky bits (PosixFilePermission has none); by path, after the check
        // above that the path still names the object the opened directories show
        Files.setAttribute(abs, "unix:mode", set.mode(), NOFOLLOW);
      }
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  private static void setOwner(Path abs, String attribute, Long wanted, long now) throws IOException {
    if (wanted == null || wanted == now) {
      return;
    }
    try {
      Files.setAttribute(abs, attribute, (int) (long) wanted, NOFOLLOW);
    } catch (FileSystemException notPermitted) {
      // not root: the files stay the restoring user's, as cp and tar do without privileges
    }
  }

  // ---------------------------------------------------------------- directories, names, attributes

  /** Opens the directory {@code dirPath} from the root, one name at a time, never following a symlink. */
  private SecureDirectoryStream<Path> openDir(String dirPath) throws IOException {
    DirectoryStream<Path> top;
    try {
      top = Files.newDirectoryStream(root);
    } catch (IOException e) {
      throw translate(e, "");
    }
    if (!(top instanceof SecureDirectoryStream<Path> dir)) {
      top.close();
      throw new IOException(root + ": this platform offers no SecureDirectoryStream (openat): local trees need "
          + "Linux or another system the JDK supports it on");
    }
    if (dirPath.isEmpty()) {
      return dir;
    }
    String walked = "";
    try {
      for (String name : dirPath.split("/")) {
        walked = walked.isEmpty() ? name : walked + "/" + name;
        Path n = names.javaName(StoredNames.bytesOf(name), walked);
        if (!stat(dir, n, walked).isDirectory()) { // never open what may block (a FIFO)
          // replaced since it was listed: the handle (this path) no longer names that directory
          throw new TreeFileException(Reason.STALE, root + ": '" + StoredNames.printable(walked)
              + "' is no longer a directory (symlinks are not followed)", null);
        }
        SecureDirectoryStream<Path> next;
        try {
          next = dir.newDirectoryStream(n, NOFOLLOW);
        } catch (IOException e) {
          throw translate(e, walked);
        }
        dir.close();
        dir = next;
      }
      return dir;
    } catch (IOException | RuntimeException e) {
      dir.close();
      throw e;
    }
  }

  /** A file opened relative to its opened directory, after a stat that says it is a regular file. */
  private FileChannel openFile(String file, Set<OpenOption> options) throws IOException {
    try (SecureDirectoryStream<Path> d = openDir(parentOf(file))) {
      Path n = names.javaName(nameOf(file), file);
      if (!stat(d, n, file).isRegularFile()) { // replaced since it was listed: as good as gone
        throw new TreeFileException(Reason.NOT_FOUND, root + ": '" + StoredNames.printable(file)
            + "' is no longer a regular file: not opened", null);
      }
      return (FileChannel) d.newByteChannel(n, options);
    } catch (IOException e) {
      throw translate(e, file);
    }
  }

  private BasicFileAttributes stat(SecureDirectoryStream<Path> dir, Path name, String path)
      throws IOException {
    try {
      return dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
    } catch (IOException e) {
      throw translate(e, path);
    }
  }

  /**
   * The object's attributes: what the JDK's {@code unix} view gives by path (inode, link count, ctime, owner),
   * checked against the object the opened directory holds under the name (fstatat), so that a path that
   * leads elsewhere fails instead of lying.
   */
  private FileAttrs checkedAttrs(SecureDirectoryStream<Path> dir, Path name, String path) throws IOException {
    // A name a writer replaced between the two reads (a rename over it, a file become a directory) makes them
    // differ once; a path that leads elsewhere makes them differ every time.
    for (int attempt = 1; ; attempt++) {
      Object key = stat(dir, name, path).fileKey();
      Map<String, Object> u = LocalAttributes.read(absolute(path), path, this::translate);
      if (key.equals(u.get("fileKey"))) {
        return LocalAttributes.of(u);
      }
      if (attempt == 3) {
        throw changedUnder(path);
      }
    }
  }

  private void madeWhereOpened(SecureDirectoryStream<Path> dir, Path name, Path made, String path)
      throws IOException {
    Object inDir = stat(dir, name, path).fileKey();
    Object byPath = Files.readAttributes(made, BasicFileAttributes.class, NOFOLLOW).fileKey();
    if (!inDir.equals(byPath)) {
      throw changedUnder(path);
    }
  }

  private TreeFileException changedUnder(String path) {
    return new TreeFileException(Reason.OTHER, root + ": a directory on the way to '" + StoredNames.printable(path)
        + "' was replaced while the restore worked on it (a symlink planted?): stopped", null);
  }

  private Path absolute(String stored) {
    return stored.isEmpty() ? root : root.resolve(stored); // stored paths are checked: relative, no '..'
  }

  private static String childOf(String dir, byte[] name, String path) {
    String n = StoredNames.of(name);
    return dir.isEmpty() ? n : dir + "/" + n;
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }

  private static byte[] nameOf(String path) {
    return StoredNames.bytesOf(path.substring(path.lastIndexOf('/') + 1));
  }

  TreeFileException translate(Throwable e, String path) {
    if (e instanceof TreeFileException t) {
      return t;
    }
    String where = root + ": '" + StoredNames.printable(path) + "': ";
    if (e instanceof NoSuchFileException) {
      return new TreeFileException(Reason.NOT_FOUND, where + "no such file or directory", e);
    }
    if (e instanceof FileAlreadyExistsException) {
      return new TreeFileException(Reason.EXISTS, where + "already exists", e);
    }
    String reason = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.toString();
    return new TreeFileException(Reason.OTHER, where + reason, e);
  }

  /** Whether a stored path or symlink target can be named exactly on this JVM. */
  boolean nameable(String stored) {
    return names.nameable(stored);
  }
}
