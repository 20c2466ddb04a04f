package io.lencap.spi.locator;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A locator as it is compared: its scheme and authority in lower case, and its path normalized ({@code ..} and
 * {@code .} resolved) without trailing slashes; an opaque locator's whole scheme-specific part as its path.
 *
 * @param scheme the scheme in lower case, empty when there is none
 * @param authority the raw authority in lower case, empty when there is none
 * @param path the normalized raw path without trailing slashes, empty for the root or none
 */
public record LocatorPath(String scheme, String authority, String path) {
  public static LocatorPath of(URI u) {
    String p = u.isOpaque() ? u.getRawSchemeSpecificPart() : Objects.requireNonNullElse(u.normalize().getRawPath(), "");
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return new LocatorPath(lower(u.getScheme()), lower(u.getRawAuthority()), p);
  }

  /** The same scheme and authority and the same path. */
  public boolean same(LocatorPath o) {
    return sameRoot(o) && path.equals(o.path);
  }

  /** The same scheme and authority, and one path equal to or below the other (an empty path holds every other). */
  public boolean nested(LocatorPath o) {
    return sameRoot(o) && (path.equals(o.path) || path.startsWith(o.path + "/") || o.path.startsWith(path + "/")
        || path.isEmpty() || o.path.isEmpty());
  }

  private boolean sameRoot(LocatorPath o) {
    return scheme.equals(o.scheme) && authority.equals(o.authority);
  }

  private static String lower(@Nullable String s) {
    return s == null ? "" : s.toLowerCase(Locale.ROOT);
  }
}
