package io.lencap.api;

/** Phases of a capture (see docs/DESIGN.md, "The capture protocol") and of a restore. */
public enum Phase {
  PREPARE, QUIESCE, CUT, RESUME, TRANSFER, COMMIT, RELEASE, RESTORE
}
