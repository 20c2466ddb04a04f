package io.lencap.samples;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a tree holds, walked without following symlinks: per relative path its kind, mode, modification
 * time and SHA-256 or symlink target. Two trees are equal when their digests are.
 */
final class TreeDigest {
  private final Map<String, String> entries;

  private TreeDigest(Map<String, String> entries) {
    this.entries = entries;
  }

  static TreeDigest of(Path root) throws IOException {
    Map<String, String> entries = new TreeMap<>();
    MessageDigest sha256 = sha256();
    byte[] buffer = new byte[256 * 1024];
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.equals(root)) {
          continue;
        }
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String what;
        if (a.isSymbolicLink()) {
          // A symlink's own time is set through lutimes(2), to the microsecond.
          what = "symlink -> " + Files.readSymbolicLink(p) + " "
              + a.lastModifiedTime().toInstant().truncatedTo(ChronoUnit.MICROS);
        } else {
          String content = "";
          if (a.isRegularFile()) {
            sha256.reset();
            try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
              for (int n; (n = in.read(buffer)) >= 0; ) {
                sha256.update(buffer, 0, n);
              }
            }
            content = a.size() + " " + HexFormat.of().formatHex(sha256.digest()) + " ";
          }
          what = (a.isDirectory() ? "dir " : a.isRegularFile() ? "file " : "other ") + content
              + PosixFilePermissions.toString(a.permissions()) + " " + a.lastModifiedTime();
        }
        entries.put(root.relativize(p).toString(), what);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return new TreeDigest(entries);
  }

  long count(String kind) {
    return entries.values().stream().filter(v -> v.startsWith(kind + " ")).count();
  }

  /** How {@code other} differs from this digest, one line per path; empty when the trees are equal. */
  List<String> differences(TreeDigest other) {
    List<String> out = new ArrayList<>();
    entries.forEach((path, what) -> {
      String theirs = other.entries.get(path);
      if (theirs == null) {
        out.add("missing  " + path);
      } else if (!theirs.equals(what)) {
        out.add("differs  " + path + ": expected " + what + ", found " + theirs);
      }
    });
    other.entries.keySet().stream().filter(p -> !entries.containsKey(p)).forEach(p -> out.add("extra    " + p));
    return out;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
