package io.lencap.tree;

import java.util.HashMap;
import java.util.Map;

/**
 * How a tree's metadata is written into a checkpoint: per entry {@code mode} (octal), {@code uid},
 * {@code gid}, {@code atime}/{@code mtime}/{@code ctime} (nanoseconds since the epoch), {@code fileid}
 * and, for symlinks, {@code target}; for a second name of a hard-linked file, {@code link}, the path of
 * the entry that holds its content; per member the same for the tree's root as {@code root.*}, the file
 * system id {@code fsid} that makes file ids comparable between checkpoints, and {@code seen}, the wall
 * clock (nanoseconds) before which file times are trusted by the next capture. The format is the NFS
 * provider's ({@value #FORMAT_VALUE}), kept so that its checkpoints restore; {@code link} and {@code seen}
 * are optional additions.
 */
final class TreeAttributes {
  static final String LINK = "link";
  static final String SEEN = "seen";
  static final String FORMAT = "format";
  static final String FORMAT_VALUE = "lencap-nfs/1";
  static final String FSID = "fsid";
  static final String MODE = "mode";
  static final String UID = "uid";
  static final String GID = "gid";
  static final String ATIME = "atime";
  static final String MTIME = "mtime";
  static final String CTIME = "ctime";
  static final String FILEID = "fileid";
  static final String TARGET = "target";
  static final String ROOT = "root.";

  private TreeAttributes() {}

  static Map<String, String> of(FileAttrs a) {
    Map<String, String> m = new HashMap<>();
    m.put(MODE, Integer.toOctalString(a.mode()));
    m.put(UID, Long.toString(a.uid()));
    m.put(GID, Long.toString(a.gid()));
    m.put(ATIME, Long.toString(a.atime()));
    m.put(MTIME, Long.toString(a.mtime()));
    m.put(CTIME, Long.toString(a.ctime()));
    m.put(FILEID, Long.toString(a.fileid()));
    return m;
  }

  static Map<String, String> symlink(FileAttrs a, String target) {
    Map<String, String> m = of(a);
    m.put(TARGET, target);
    return m;
  }

  static Map<String, String> hardLink(FileAttrs a, String primary) {
    Map<String, String> m = of(a);
    m.put(LINK, primary);
    return m;
  }

  /** The metadata a restore sets, parsed and checked; the field names the entry in errors. */
  record Meta(int mode, long uid, long gid, long atime, long mtime) {}

  static Meta meta(Map<String, String> attrs, String prefix, String where) {
    return new Meta((int) number(attrs, prefix + MODE, where, 8, 0, 07777),
        number(attrs, prefix + UID, where, 10, 0, 0xFFFF_FFFFL),
        number(attrs, prefix + GID, where, 10, 0, 0xFFFF_FFFFL),
        number(attrs, prefix + ATIME, where, 10, Long.MIN_VALUE, Long.MAX_VALUE),
        number(attrs, prefix + MTIME, where, 10, Long.MIN_VALUE, Long.MAX_VALUE));
  }

  static long number(Map<String, String> attrs, String key, String where, int radix, long min, long max) {
    String v = attrs.get(key);
    if (v == null) {
      throw new IllegalArgumentException(where + ": attribute '" + key + "' is missing");
    }
    try {
      long n = Long.parseLong(v, radix);
      if (n < min || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": attribute '" + key + "' is not a valid number: '" + v + "'");
    }
  }
}
