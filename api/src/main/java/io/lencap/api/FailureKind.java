package io.lencap.api;

/** What went wrong with a member, as detected. */
public enum FailureKind {
  /** The member's process died (a VM's QEMU crashed or was killed). */
  CRASHED,
  /** The member stopped without being asked to (a VM shut off). */
  STOPPED,
  /** The member paused itself on an error (a VM paused on an I/O error). */
  PAUSED_ON_ERROR,
  /** The member does not answer its probes (host, target or server unreachable). */
  UNREACHABLE
}
