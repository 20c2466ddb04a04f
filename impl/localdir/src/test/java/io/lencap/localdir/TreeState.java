package io.lencap.localdir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** What a tree looks like, read without following symlinks: for equality checks in tests. */
final class TreeState {
  private TreeState() {}

  /**
   * Each entry under {@code root} (not the root itself) by relative path: kind, mode, modification time
   * and content hash or symlink target. Equal for a tree and its faithful restore.
   */
  static Map<String, String> fingerprint(Path root) throws IOException {
    return describe(root, false);
  }

  /** The fingerprint plus each entry's inode: shows which files a restore rewrote. */
  static Map<String, String> inventory(Path root) throws IOException {
    return describe(root, true);
  }

  private static Map<String, String> describe(Path root, boolean inodes) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.equals(root)) {
          continue;
        }
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String what;
        if (a.isSymbolicLink()) {
          what = "link -> " + Files.readSymbolicLink(p);
        } else {
          what = (a.isDirectory() ? "dir " : "file " + a.size() + " " + sha256(p) + " ")
              + PosixFilePermissions.toString(a.permissions());
        }
        // The JDK sets a symlink's own time through lutimes(2), which takes microseconds.
        what += " mtime " + (a.isSymbolicLink()
            ? a.lastModifiedTime().toInstant().truncatedTo(ChronoUnit.MICROS) : a.lastModifiedTime().toInstant());
        if (inodes) {
          what += " key " + a.fileKey();
        }
        out.put(root.relativize(p).toString(), what);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return out;
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS),
        MessageDigest.getInstance("SHA-256"))) {
      DigestInputStream d = (DigestInputStream) in;
      d.transferTo(java.io.OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(d.getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
