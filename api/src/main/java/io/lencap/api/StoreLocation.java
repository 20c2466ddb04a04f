package io.lencap.api;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A store's URI in the one spelling that every spelling of the same store shares, so that a durable tier on the local
 * store is refused however it is written: the scheme and authority in lower case (without user information), the path
 * normalized ({@code ..}, {@code .}, repeated and trailing slashes), and a {@code file:} store as the absolute, real
 * path it names ({@code file:/x}, {@code file:///x/}, a relative path made absolute, a symbolic link followed).
 */
final class StoreLocation {
  private StoreLocation() {}

  /** Whether {@code a} and {@code b} spell the same store. */
  static boolean same(URI a, URI b) {
    return canonical(a).equals(canonical(b));
  }

  static String canonical(URI u) {
    String scheme = lower(u.getScheme());
    if (scheme.equals("file")) {
      try {
        Path p = Path.of(u).toAbsolutePath().normalize();
        try {
          p = Files.exists(p) ? p.toRealPath() : p;
        } catch (IOException e) {
          // unreadable: compare the spelling
        }
        return "file:" + p;
      } catch (IllegalArgumentException | FileSystemNotFoundException e) {
        // a file: URI with an authority or a query: compared as any other below
      }
    }
    if (u.isOpaque()) {
      return scheme + ":" + u.getRawSchemeSpecificPart();
    }
    String authority = u.getRawAuthority() == null ? "" : u.getRawAuthority();
    authority = lower(authority.substring(authority.lastIndexOf('@') + 1));
    String path = u.normalize().getRawPath() == null ? "" : u.normalize().getRawPath().replaceAll("/{2,}", "/");
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return scheme + "://" + authority + path + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
  }

  private static String lower(String s) {
    return s == null ? "" : s.toLowerCase(Locale.ROOT);
  }
}
