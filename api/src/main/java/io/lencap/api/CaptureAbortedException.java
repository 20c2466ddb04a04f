package io.lencap.api;

/**
 * A capture failed or was cancelled and was undone: every quiesced member was resumed and no
 * checkpoint was committed. The cause says which member failed in which phase.
 */
public class CaptureAbortedException extends LencapException {
  private static final long serialVersionUID = 1L;
  private final String memberId;
  private final Phase phase;

  public CaptureAbortedException(String memberId, Phase phase, String message, Throwable cause) {
    super(message, cause);
    this.memberId = memberId;
    this.phase = phase;
  }

  /** The member whose failure aborted the capture, or null when the group as a whole failed. */
  public String memberId() {
    return memberId;
  }

  public Phase phase() {
    return phase;
  }
}
