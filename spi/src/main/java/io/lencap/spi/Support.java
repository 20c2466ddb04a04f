package io.lencap.spi;

/** A provider's answer to {@link ResourceProvider#supports}: yes, or no with the reason. */
public record Support(boolean supported, String reason) {
  private static final Support YES = new Support(true, "supported");

  public static Support yes() {
    return YES;
  }

  /** Declines, saying why (shown to users): "type block is not a VM", "scheme nfs is not iscsi". */
  public static Support no(String reason) {
    return new Support(false, reason);
  }
}
