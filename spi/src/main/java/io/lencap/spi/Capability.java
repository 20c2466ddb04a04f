package io.lencap.spi;

/** What a driver can do; the engine and users read these to choose modes and check placements. */
public enum Capability {
  /** {@link ResourceDriver#cut} can detach the state from the running member, so it resumes before transfer. */
  LIVE_CUT,
  /** Later captures read only what changed since the parent, not the whole state. */
  CHANGE_TRACKING,
  /** {@link ResourceDriver#prepare} copies while the member runs, so the cut only handles what changed since. */
  PRE_COPY,
  /** Restore works onto a target other than the captured one (migration). */
  RESTORE_ELSEWHERE,
  /** Restore writes only what differs from the target's current content. */
  DIFFERENTIAL_RESTORE,
  /**
   * {@link ResourceDriver#release} of a cut does the same whether its capture commits or not, so the engine may
   * release it as soon as the member's transfer is done, while the group's commit runs (a VM's overlays merged back).
   * Without it, release runs after the commit or the abort.
   */
  RELEASE_ONCE_TRANSFERRED
}
