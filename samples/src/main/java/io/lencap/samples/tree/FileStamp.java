package io.lencap.samples.tree;

import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;

/**
 * What says a regular file is unchanged without reading it: size, modification time, change time, inode
 * (file key) and mode. The change time matters because the modification time can be set back: a same-size
 * rewrite by {@code cp -p} or followed by {@code touch -r} keeps size and mtime, but moves the ctime, which
 * no one can set. A copy is trusted only when its stamp was read well after the file's last modification:
 * timestamps advance in kernel ticks, so a file modified within a tick of being stamped can change again
 * without its stamp moving (git's "racily clean" files).
 */
record FileStamp(long size, FileTime mtime, FileTime ctime, String fileKey, String mode) {
  static final String MODE = "mode";
  static final String MTIME = "mtime";
  static final String CTIME = "ctime";
  static final String FILE_KEY = "fileKey";
  /** When the stamp was read (wall clock), for the racy check of a later capture. */
  static final String SEEN = "seen";

  /** Well above a Linux tick (1-10 ms) on file systems with nanosecond timestamps (ext4, xfs, btrfs, tmpfs). */
  static final Duration RACY_WINDOW = Duration.ofMillis(50);

  /**
   * The stamp of {@code file}, whose attributes {@code a} were just read. The ctime is read after them (the
   * JDK offers it only as {@code unix:ctime}): a change in between only makes the stamp look changed.
   */
  static FileStamp of(Path file, PosixFileAttributes a) throws IOException {
    FileTime ctime = (FileTime) Files.getAttribute(file, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
    return new FileStamp(a.size(), a.lastModifiedTime(), ctime, String.valueOf(a.fileKey()),
        PosixFilePermissions.toString(a.permissions()));
  }

  /** The stamp a previous capture stored with the entry, when it has one and it can be trusted. */
  static Optional<FileStamp> trustedIn(StoredEntry e) {
    Map<String, String> a = e.attributes();
    if (!a.containsKey(MODE) || !a.containsKey(MTIME) || !a.containsKey(CTIME) || !a.containsKey(FILE_KEY)
        || !a.containsKey(SEEN)) {
      return Optional.empty(); // from an older capture, without a ctime: read the file again
    }
    try {
      FileStamp stamp = new FileStamp(e.size(), FileTime.from(Instant.parse(a.get(MTIME))),
          FileTime.from(Instant.parse(a.get(CTIME))), a.get(FILE_KEY), a.get(MODE));
      return stamp.racy(Instant.parse(a.get(SEEN))) ? Optional.empty() : Optional.of(stamp);
    } catch (DateTimeParseException ex) {
      return Optional.empty();
    }
  }

  /** True when the file may have changed after {@code seen} without this stamp showing it. */
  boolean racy(Instant seen) {
    return Duration.between(mtime.toInstant(), seen).compareTo(RACY_WINDOW) < 0;
  }

  Map<String, String> attributes(Instant seen) {
    return Map.of(MODE, mode, MTIME, mtime.toInstant().toString(), CTIME, ctime.toInstant().toString(),
        FILE_KEY, fileKey, SEEN, seen.toString());
  }
}
