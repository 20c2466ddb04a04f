package io.lencap.api;

/** What a protected encapsulation does when a member fails. Whatever it does, the whole group moves together. */
public enum Reaction {
  /** Report the failure as an event; change nothing. */
  NOTIFY,
  /** Restore the whole group to its last checkpoint where it was. */
  RESTORE_IN_PLACE,
  /** Restore the whole group to its last checkpoint onto the placement a {@link PlacementChooser} picks. */
  RESTORE_ELSEWHERE
}
