package io.lencap.spi;

/** What an entry of a member's state is. Directories and symlinks carry no content. */
public enum EntryKind {
  /** Bytes: a file, a memory image, a disk, a LUN. */
  FILE,
  DIRECTORY,
  /** A symbolic link; its target is the attribute {@code target}. */
  SYMLINK
}
