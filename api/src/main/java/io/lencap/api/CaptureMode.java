package io.lencap.api;

/** How a capture pauses the group. Both modes write the same checkpoint format. */
public enum CaptureMode {
  /** Short coordinated quiesce and cut, resume, then transfer in the background. */
  NON_BLOCKING,
  /** Quiesce all, copy all, resume: the baseline, and the mode for resources that cannot cut live. */
  BLOCKING
}
