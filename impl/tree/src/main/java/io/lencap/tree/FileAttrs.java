package io.lencap.tree;

/**
 * What a tree tells of one object. Times are nanoseconds since the epoch; {@code fileid} and {@code fsid}
 * identify the object (inode and file system) as long as it exists; {@code nlink} counts its names.
 */
public record FileAttrs(Kind kind, int mode, long uid, long gid, long size, long fileid, long fsid, long atime,
    long mtime, long ctime, long nlink) {

  /** Object types we capture; everything else (devices, FIFOs, sockets) is skipped with a note, never opened. */
  public enum Kind {
    FILE, DIRECTORY, SYMLINK, OTHER
  }

  /** Same object, same content and metadata as far as the tree can tell (atime aside: reading changes it). */
  public boolean sameAs(FileAttrs o) {
    return o != null && kind == o.kind && fileid == o.fileid && size == o.size && mtime == o.mtime
        && ctime == o.ctime && mode == o.mode && uid == o.uid && gid == o.gid;
  }
}
