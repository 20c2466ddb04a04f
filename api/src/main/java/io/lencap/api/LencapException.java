package io.lencap.api;

/** Root of every exception Lencap throws; subclasses say what went wrong and what to do about it. */
public class LencapException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LencapException(String message) {
    super(message);
  }

  public LencapException(String message, Throwable cause) {
    super(message, cause);
  }
}
