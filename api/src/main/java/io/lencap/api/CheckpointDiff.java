package io.lencap.api;

import java.util.List;

/**
 * What changed between two checkpoints of one encapsulation ({@link Lencap#diff}), member by member, from the
 * stored entries alone (no member is contacted): for a tree its files, for a disk or a LUN its images and the
 * extents of them whose content differs.
 *
 * @param from the older checkpoint's id, as given
 * @param to the newer checkpoint's id, as given
 * @param members one entry per member of either checkpoint, in {@code to}'s order then {@code from}'s
 */
public record CheckpointDiff(String from, String to, List<Member> members) {
  public CheckpointDiff {
    members = List.copyOf(members);
  }

  /**
   * One member's changes. A member in only one of the two checkpoints has all its entries added or removed.
   *
   * @param id the member's id
   * @param changes its entries that were added, removed or changed, by path; empty when it is unchanged
   * @param changedBytes content bytes of {@code to} that differ from {@code from} (the sum of the extents and of
   *     the added entries' sizes)
   */
  public record Member(String id, List<Change> changes, long changedBytes) {
    public Member {
      changes = List.copyOf(changes);
    }
  }

  /**
   * One entry (a file, a directory, a disk image) that differs.
   *
   * @param path the entry's path within its member, as its provider names it
   * @param kind added, removed or changed
   * @param extents for a changed entry, the byte ranges of {@code to} whose content differs (merged when
   *     adjacent); empty when only its metadata (mode, owner, times, link target) changed, or when it was
   *     added or removed
   */
  public record Change(String path, Kind kind, List<Extent> extents) {
    public Change {
      extents = List.copyOf(extents);
    }
  }

  /** A byte range of an entry. */
  public record Extent(long offset, long length) {}

  /** How an entry differs. */
  public enum Kind {
    ADDED, REMOVED, CHANGED
  }
}
