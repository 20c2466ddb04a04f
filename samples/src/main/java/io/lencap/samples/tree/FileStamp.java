package io.lencap.samples.tree;

import io.lencap.spi.StoredEntry;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;

/**
 * What says a regular file is unchanged without reading it: size, modification time, inode (file key)
 * and mode. A copy is trusted only when its stamp was read well after the file's last modification:
 * timestamps advance in kernel ticks, so a file modified within a tick of being stamped can change again
 * without its stamp moving (git's "racily clean" files).
 */
record FileStamp(long size, FileTime mtime, String fileKey, String mode) {
  static final String MODE = "mode";
  static final String MTIME = "mtime";
  static final String FILE_KEY = "fileKey";
  /** When the stamp was read (wall clock), for the racy check of a later capture. */
  static final String SEEN = "seen";

  /** Well above a Linux tick (1-10 ms) on file systems with nanosecond timestamps (ext4, xfs, btrfs, tmpfs). */
  static final Duration RACY_WINDOW = Duration.ofMillis(50);

  static FileStamp of(PosixFileAttributes a) {
    return new FileStamp(a.size(), a.lastModifiedTime(), String.valueOf(a.fileKey()),
        PosixFilePermissions.toString(a.permissions()));
  }

  /** The stamp a previous capture stored with the entry, when it has one and it can be trusted. */
  static Optional<FileStamp> trustedIn(StoredEntry e) {
    Map<String, String> a = e.attributes();
    if (!a.containsKey(MODE) || !a.containsKey(MTIME) || !a.containsKey(FILE_KEY) || !a.containsKey(SEEN)) {
      return Optional.empty();
    }
    try {
      FileStamp stamp = new FileStamp(e.size(), FileTime.from(Instant.parse(a.get(MTIME))), a.get(FILE_KEY),
          a.get(MODE));
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
    return Map.of(MODE, mode, MTIME, mtime.toInstant().toString(), FILE_KEY, fileKey, SEEN, seen.toString());
  }
}
