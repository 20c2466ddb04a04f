package io.lencap.iscsi.address;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * How an iSCSI member is named, for the modules that must spell it as the iSCSI provider reads it (the libvirt
 * provider writes VM disks that reach a LUN themselves): the locator {@code iscsi://host[:port]/iqn/lun}, libiscsi's
 * and QEMU's URL form, and the keys of the member's CHAP credentials. Spelled here only; the provider checks a
 * locator's parts when it opens the LUN.
 */
public final class IscsiLocator {

  /** The locator's scheme. */
  public static final String SCHEME = "iscsi";
  /** The port of a locator that names none (RFC 7143's well-known port). */
  public static final int DEFAULT_PORT = 3260;
  /** Property: the CHAP user the initiator logs in as. */
  public static final String CHAP_USER = "chap.user";
  /** Secret: that user's CHAP secret. */
  public static final String CHAP_SECRET = "chap.secret";
  /** Property: for mutual CHAP, the user the target must prove it is. */
  public static final String CHAP_TARGET_USER = "chap.targetUser";
  /** Secret: for mutual CHAP, the target's own secret (a different one). */
  public static final String CHAP_TARGET_SECRET = "chap.targetSecret";

  private IscsiLocator() {}

  /**
   * The locator of {@code target} at {@code host:port}.
   *
   * @param host a host name or address; an IPv6 address is bracketed here
   * @param port the target's port
   * @param target {@code iqn/lun}, as a libvirt network source names it
   * @throws IllegalArgumentException naming the part that does not fit in a locator
   */
  public static URI of(String host, int port, String target) {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("iSCSI host is missing");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("iSCSI port " + port + " is not in 1..65535");
    }
    if (target == null || target.isEmpty()) {
      throw new IllegalArgumentException("iSCSI target (iqn/lun) is missing");
    }
    String authority = (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    try {
      return new URI(SCHEME + "://" + authority + "/" + target);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("iSCSI target " + target + " at " + authority + " is not a locator: "
        + e.getReason());
    }
  }

  /** The locator's host as a network address: an IPv6 address without its brackets. */
  public static String host(URI locator) {
    String host = locator.getHost();
    return host != null && host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
  }

  /** The locator's port, or {@link #DEFAULT_PORT} when it names none. */
  public static int port(URI locator) {
    return locator.getPort() < 0 ? DEFAULT_PORT : locator.getPort();
  }

  /** {@code iqn/lun}: the locator's path without its leading slash, as a libvirt network source names it. */
  public static String target(URI locator) {
    String path = locator.getPath();
    return path == null || path.isEmpty() ? "" : path.substring(1);
  }
}
