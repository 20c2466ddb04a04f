package io.lencap.nfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Builds test trees directly in an exported directory: files of mixed sizes (a few bytes to a few MiB of
 * random, incompressible bytes), nested directories, relative symlinks, assorted modes, owners and mtimes.
 * Deterministic for a seed.
 */
final class TreeMaker {
  private static final String[] MODES = {"rw-r--r--", "rw-------", "rwxr-xr-x", "rw-r-----", "r--r--r--"};
  private static final int[] IDS = {0, 1000, 1234, 65534};

  private final Random random;
  private boolean smallOnly;
  final List<Path> files = new ArrayList<>();
  final List<Path> dirs = new ArrayList<>();
  final List<Path> links = new ArrayList<>();
  long bytes;

  TreeMaker(long seed) {
    this.random = new Random(seed);
  }

  /** Files of 1 B to 8 KiB only (the pause benchmark's trees: what matters there is the count). */
  TreeMaker smallFiles() {
    smallOnly = true;
    return this;
  }

  /** {@code count} files over about count/100 directories two levels deep, plus count/100 symlinks. */
  TreeMaker build(Path root, int count) throws IOException {
    int top = Math.max(1, (int) Math.sqrt(count / 100.0));
    for (int i = 0; i < top; i++) {
      for (int j = 0; j < top; j++) {
        dirs.add(Files.createDirectories(root.resolve("d" + i).resolve("e" + j)));
      }
    }
    for (int k = 0; k < count; k++) {
      Path dir = dirs.get(random.nextInt(dirs.size()));
      file(dir.resolve("f" + k + ".dat"), size());
    }
    for (int k = 0; k < Math.max(1, count / 100); k++) {
      Path from = dirs.get(random.nextInt(dirs.size())).resolve("l" + k);
      Path to = files.get(random.nextInt(files.size()));
      Files.createSymbolicLink(from, from.getParent().relativize(to));
      links.add(from);
    }
    Files.createSymbolicLink(root.resolve("dangling"), Path.of("no/such/file"));
    links.add(root.resolve("dangling"));
    finish(root);
    return this;
  }

  /** Writes a file with random content, mode, owner and mtime. */
  Path file(Path p, int size) throws IOException {
    byte[] data = new byte[size];
    random.nextBytes(data);
    Files.write(p, data);
    files.add(p);
    bytes += size;
    meta(p);
    return p;
  }

  void meta(Path p) throws IOException {
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(MODES[random.nextInt(MODES.length)]));
    Files.setAttribute(p, "unix:uid", IDS[random.nextInt(IDS.length)]);
    Files.setAttribute(p, "unix:gid", IDS[random.nextInt(IDS.length)]);
    Files.setLastModifiedTime(p, FileTime.fromMillis(1_600_000_000_000L + random.nextInt(1_000_000_000)));
  }

  /** Sets directory metadata deepest first, so that creating children does not change it afterwards. */
  void finish(Path root) throws IOException {
    List<Path> all = new ArrayList<>(dirs);
    for (Path d : dirs) {
      for (Path p = d.getParent(); p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
        if (!all.contains(p)) {
          all.add(p);
        }
      }
    }
    all.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    for (Path d : all) {
      Files.setPosixFilePermissions(d, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE));
      Files.setLastModifiedTime(d, FileTime.fromMillis(1_650_000_000_000L + random.nextInt(1_000_000)));
    }
  }

  /** Mostly small files, some medium, a few of a few MiB. */
  int size() {
    int r = smallOnly ? 999 : random.nextInt(1000);
    if (r < 5) {
      return (1 << 20) + random.nextInt(3 << 20); // 0.5%: 1-4 MiB
    }
    if (r < 40) {
      return (16 << 10) + random.nextInt(240 << 10); // 3.5%: 16-256 KiB
    }
    return 1 + random.nextInt(8 << 10); // 96%: 1 B - 8 KiB
  }

  Random random() {
    return random;
  }

  static boolean exists(Path p) {
    return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
  }
}
