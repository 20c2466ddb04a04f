package io.lencap.localdir;

import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeFileException;
import io.lencap.tree.TreeFileException.Reason;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Names as bytes on a local file system, as far as the JDK can carry them: it maps file names through the
 * JVM's file name encoding ({@code sun.jnu.encoding}, set from the locale) and offers no public way to the
 * bytes, so a name not valid in it can be neither opened nor created by its string. Such a name fails
 * naming it, rather than being dropped or turned into another.
 */
final class LocalNames {
  /** The JVM's file name encoding. */
  static final Charset CHARSET = charset();

  private final Path root;

  LocalNames(Path root) {
    this.root = root;
  }

  /** One name as the JDK can use it; fails naming it when the encoding cannot carry it. */
  Path javaName(byte[] name, String path) throws TreeFileException {
    Path p = javaPath(name, path);
    if (p.getNameCount() != 1 || p.isAbsolute()) {
      throw new TreeFileException(Reason.OTHER, root + ": '" + StoredNames.printable(path)
          + "': not a single name", null);
    }
    return p;
  }

  /** A name or symlink target as the JDK can use it, exactly; fails naming it when it cannot. */
  Path javaPath(byte[] name, String path) throws TreeFileException {
    String s = new String(name, CHARSET);
    try {
      Path p = root.getFileSystem().getPath(s);
      if (Arrays.equals(s.getBytes(CHARSET), name) && exact(p)) {
        return p;
      }
    } catch (InvalidPathException e) {
      // refused below
    }
    throw new TreeFileException(Reason.OTHER, root + ": cannot name '" + StoredNames.printable(path)
        + "': not valid in this JVM's file name encoding (sun.jnu.encoding=" + CHARSET + ")", null);
  }

  /** Whether a stored path or symlink target can be named exactly on this JVM. */
  boolean nameable(String stored) {
    try {
      javaPath(StoredNames.bytesOf(stored), stored);
      return true;
    } catch (TreeFileException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Whether the JDK names this path exactly (its string turns into the same bytes again). */
  static boolean exact(Path p) {
    try {
      return p.getFileSystem().getPath(p.toString()).equals(p); // UnixPath compares bytes
    } catch (InvalidPathException e) {
      return false;
    }
  }

  private static Charset charset() {
    try {
      return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    } catch (RuntimeException e) {
      return StandardCharsets.UTF_8;
    }
  }
}
