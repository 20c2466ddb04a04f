package io.lencap.libvirt;

import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The hypervisor a libvirt connection URI reaches, with the transport left out: {@code qemu:///system},
 * {@code qemu+unix:///system}, {@code qemu+ssh://localhost/system} and {@code qemu+tcp://127.0.0.1/system} are all
 * this host's system QEMU, and two domains of one name there are one domain. {@code host} is empty for this host;
 * {@code libxl} counts as {@code xen}, whatever the path (one Xen host, one set of domains).
 *
 * @param driver the driver ({@code qemu}, {@code xen}, {@code test})
 * @param host the host in lower case, empty for this host
 * @param path the driver's instance ({@code /system}, {@code /session}) without trailing slashes, empty for Xen
 */
record Hypervisor(String driver, String host, String path) {
  private static final Set<String> LOCAL_HOSTS = Set.of("", "localhost", "localhost.localdomain", "127.0.0.1",
      "[::1]", "::1");

  /** The hypervisor of a connection URI, or empty when it is not one libvirt's drivers name. */
  static Optional<Hypervisor> of(URI uri) {
    String scheme = uri.getScheme();
    if (scheme == null || uri.isOpaque()) {
      return Optional.empty();
    }
    scheme = scheme.toLowerCase(Locale.ROOT);
    int plus = scheme.indexOf('+');
    String driver = plus < 0 ? scheme : scheme.substring(0, plus);
    String transport = plus < 0 ? "" : scheme.substring(plus + 1);
    if (!LibvirtProvider.SCHEMES.contains(driver)) {
      return Optional.empty();
    }
    String host = host(uri);
    if (transport.equals("unix") || LOCAL_HOSTS.contains(host)) {
      host = "";
    }
    String path = uri.normalize().getPath() == null ? "" : uri.normalize().getPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    boolean xen = driver.equals("xen") || driver.equals("libxl");
    return Optional.of(new Hypervisor(xen ? "xen" : driver, host, xen ? "" : path));
  }

  /** The host without user or port, also when {@link URI#getHost} gives up on it (an underscore in a name). */
  private static String host(URI uri) {
    String authority = uri.getRawAuthority();
    if (authority == null) {
      return "";
    }
    String h = authority.substring(authority.lastIndexOf('@') + 1);
    if (!h.startsWith("[") && h.indexOf(':') >= 0) {
      h = h.substring(0, h.indexOf(':'));
    } else if (h.startsWith("[") && h.indexOf(']') > 0) {
      h = h.substring(0, h.indexOf(']') + 1);
    }
    return h.toLowerCase(Locale.ROOT);
  }
}
