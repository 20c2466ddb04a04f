package io.lencap.api;

/** A named thing (checkpoint, domain, LUN, export) does not exist. Check the name. */
public class NotFoundException extends LencapException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }
}
