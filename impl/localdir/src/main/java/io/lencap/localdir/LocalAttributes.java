package io.lencap.localdir;

import io.lencap.tree.FileAttrs;
import io.lencap.tree.TreeFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/** What one lstat(2) of a local object tells, as the engine's {@link FileAttrs}, and mode bits as the JDK's. */
final class LocalAttributes {
  /** One lstat's worth: not "unix:*", whose owner and group names cost a user database lookup per file. */
  private static final String ATTRIBUTES = "unix:mode,uid,gid,size,ino,dev,nlink,ctime,lastModifiedTime,"
      + "lastAccessTime,fileKey,isRegularFile,isDirectory,isSymbolicLink";

  private LocalAttributes() {}

  /** The object's attributes by path, without following a final symlink; {@code fileKey} included. */
  static Map<String, Object> read(Path p, String path, BiFunction<Throwable, String, TreeFileException> translate)
      throws IOException {
    try {
      return Files.readAttributes(p, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw translate.apply(e, path);
    }
  }

  static FileAttrs of(Map<String, Object> u) {
    FileAttrs.Kind kind = get(u, "isRegularFile", Boolean.class) ? FileAttrs.Kind.FILE
        : get(u, "isDirectory", Boolean.class) ? FileAttrs.Kind.DIRECTORY
        : get(u, "isSymbolicLink", Boolean.class) ? FileAttrs.Kind.SYMLINK : FileAttrs.Kind.OTHER;
    return new FileAttrs(kind, get(u, "mode", Integer.class) & 07777,
        Integer.toUnsignedLong(get(u, "uid", Integer.class)), Integer.toUnsignedLong(get(u, "gid", Integer.class)),
        get(u, "size", Long.class), get(u, "ino", Long.class), get(u, "dev", Long.class),
        nanos(get(u, "lastAccessTime", FileTime.class)), nanos(get(u, "lastModifiedTime", FileTime.class)),
        nanos(get(u, "ctime", FileTime.class)), get(u, "nlink", Integer.class).longValue());
  }

  /** One of the {@code unix:} attributes read above; the JDK's Linux provider always fills them in. */
  private static <T> T get(Map<String, Object> u, String name, Class<T> type) {
    Object value = u.get(name);
    if (value == null) {
      throw new IllegalStateException("the file system gave no unix:" + name + " attribute");
    }
    return type.cast(value);
  }

  /** The permission bits of a mode (set-id and sticky bits have no {@link PosixFilePermission}). */
  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE, 0400 down to 01
    for (int i = 0; i < 9; i++) {
      if ((mode & (0400 >> i)) != 0) {
        p.add(bits[i]);
      }
    }
    return p;
  }

  private static long nanos(FileTime fileTime) {
    return fileTime.to(TimeUnit.NANOSECONDS);
  }
}
