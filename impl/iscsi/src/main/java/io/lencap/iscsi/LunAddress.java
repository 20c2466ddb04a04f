package io.lencap.iscsi;

import io.lencap.iscsi.address.IscsiLocator;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where a LUN lives: {@code iscsi://host[:port]/iqn/lun}, the URL form libiscsi and QEMU use. Credentials never
 * belong in the locator (they come from the resource's secrets), so a user-info part is refused.
 */
record LunAddress(String host, int port, String iqn, int lun) {

  static final int DEFAULT_PORT = IscsiLocator.DEFAULT_PORT;
  /** Flat space addressing (SAM-2) reaches LUNs up to 16383. */
  static final int MAX_LUN = 0x3fff;

  LunAddress {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("locator host is missing");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("locator port " + port + " is not in 1..65535");
    }
    if (iqn == null || iqn.isBlank()) {
      throw new IllegalArgumentException("locator target name (iqn) is missing");
    }
    if (lun < 0 || lun > MAX_LUN) {
      throw new IllegalArgumentException("locator lun " + lun + " is not in 0.." + MAX_LUN);
    }
  }

  static LunAddress parse(URI locator) {
    if (locator == null) {
      throw new IllegalArgumentException("locator is missing");
    }
    if (!IscsiLocator.SCHEME.equalsIgnoreCase(locator.getScheme())) {
      throw new IllegalArgumentException("locator scheme must be iscsi (iscsi://host:port/iqn/lun), got: "
        + locator.getScheme());
    }
    if (locator.getRawUserInfo() != null) {
      // Never echo the user-info: it may hold a secret.
      throw new IllegalArgumentException(
        "locator must not carry credentials; give CHAP credentials as the resource's secrets");
    }
    String path = locator.getPath();
    String[] parts = path == null ? new String[0] : path.split("/");
    // "/iqn/lun" splits into "", iqn, lun
    if (parts.length != 3 || parts[1].isEmpty() || parts[2].isEmpty()) {
      throw new IllegalArgumentException("locator path must be /iqn/lun (iscsi://host:port/iqn/lun), got: " + path);
    }
    int lun;
    try {
      lun = Integer.parseInt(parts[2]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("locator lun must be a number, got: " + parts[2]);
    }
    return new LunAddress(locator.getHost(), locator.getPort() < 0 ? DEFAULT_PORT : locator.getPort(), parts[1], lun);
  }

  /**
   * This address with the host and target name in lower case: two locators name the same LUN when their canonical
   * addresses are equal (the port is already defaulted and the LUN a number; iSCSI names compare without case,
   * RFC 3722, and so do host names).
   */
  LunAddress canonical() {
    return new LunAddress(host.toLowerCase(Locale.ROOT), port, iqn.toLowerCase(Locale.ROOT), lun);
  }

  /** The 8-byte LUN field of SCSI command PDUs (SAM-2: peripheral addressing below 256, flat above). */
  long lunField() {
    return lunField(lun);
  }

  static long lunField(int lun) {
    long firstTwoBytes = lun < 256 ? lun : 0x4000 | lun;
    return firstTwoBytes << 48;
  }

  URI toUri() {
    try {
      return new URI(IscsiLocator.SCHEME, null, host, port, "/" + iqn + "/" + lun, null, null);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return toUri().toString();
  }
}
