package io.lencap.api;

/**
 * A resource, its host or the store cannot be reached or refused the operation (connection lost,
 * authentication failed, disk full). Usually transient: retry once the peer is back.
 */
public class UnavailableException extends LencapException {
  private static final long serialVersionUID = 1L;

  public UnavailableException(String message) {
    super(message);
  }

  public UnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
