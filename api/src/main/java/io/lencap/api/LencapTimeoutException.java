package io.lencap.api;

/** An operation or phase took longer than the policy allows; it was cancelled and undone. Retry, or raise the limit. */
public class LencapTimeoutException extends LencapException {
  private static final long serialVersionUID = 1L;

  public LencapTimeoutException(String message) {
    super(message);
  }
}
