package io.lencap.api;

/** A specification (resource, encapsulation, policy, placement) is invalid; {@link #field()} names what to fix. */
public class InvalidSpecException extends LencapException {
  private static final long serialVersionUID = 1L;
  private final String field;

  public InvalidSpecException(String field, String problem) {
    super(field + ": " + problem);
    this.field = field;
  }

  /** The offending field, as a dotted path such as {@code resources[vm1].dependsOn}. */
  public String field() {
    return field;
  }
}
