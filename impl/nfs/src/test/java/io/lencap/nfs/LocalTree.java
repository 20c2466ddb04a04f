package io.lencap.nfs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * A walk of an exported directory on the server's own file system (not through NFS): for every entry its
 * kind, permission bits, owner, group, mtime (milliseconds: what NFSv3 through nfs-client can restore;
 * not for symlinks, whose times Ganesha's VFS does not set),
 * size and SHA-256 or symlink target. Two equal walks mean equal trees in content and metadata.
 */
final class LocalTree {
  private LocalTree() {}

  static TreeMap<String, String> walk(Path root) throws IOException {
    TreeMap<String, String> out = new TreeMap<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        out.put(name(root, dir), describe(dir));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        out.put(name(root, file), describe(file));
        return FileVisitResult.CONTINUE;
      }
    });
    return out;
  }

  /** One line per entry, for a readable diff when walks differ. */
  static String diff(Map<String, String> expected, Map<String, String> actual) {
    StringBuilder sb = new StringBuilder();
    int shown = 0;
    for (String k : new java.util.TreeSet<>(union(expected, actual))) {
      String e = expected.get(k);
      String a = actual.get(k);
      if (!java.util.Objects.equals(e, a) && shown++ < 20) {
        sb.append("\n  ").append(k).append(": expected ").append(e).append(", was ").append(a);
      }
    }
    return sb.toString();
  }

  private static java.util.Set<String> union(Map<String, String> a, Map<String, String> b) {
    java.util.Set<String> s = new java.util.HashSet<>(a.keySet());
    s.addAll(b.keySet());
    return s;
  }

  private static String name(Path root, Path p) {
    String r = root.relativize(p).toString();
    return r.isEmpty() ? "." : r;
  }

  private static String describe(Path p) throws IOException {
    Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime,size,isSymbolicLink,isDirectory",
        LinkOption.NOFOLLOW_LINKS);
    int mode = (Integer) a.get("mode");
    boolean link = (Boolean) a.get("isSymbolicLink");
    boolean dir = (Boolean) a.get("isDirectory");
    long mtime = ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toMillis();
    String owner = "uid=" + a.get("uid") + " gid=" + a.get("gid");
    String common = owner + " mtime=" + mtime;
    if (link) {
      // Ganesha's VFS answers OK to SETATTR of a symlink's times but ignores them: not restorable here.
      return "link -> " + Files.readSymbolicLink(p) + " " + owner;
    }
    if (dir) {
      return "dir mode=" + Integer.toOctalString(mode & 07777) + " " + common;
    }
    return "file mode=" + Integer.toOctalString(mode & 07777) + " " + common + " size=" + a.get("size")
        + " sha256=" + sha256(p);
  }

  static String sha256(Path p) throws IOException {
    try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
