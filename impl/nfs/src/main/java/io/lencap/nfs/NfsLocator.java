package io.lencap.nfs;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a tree lives: {@code nfs://host/export/path} (libnfs's URL form). The export is the longest prefix
 * of the path the server mounts, or the resource property {@code export} when given; the rest is a
 * directory inside it. Properties {@code uid} and {@code gid} choose the AUTH_SYS identity (default root,
 * which needs the export's {@code no_root_squash} to restore owners).
 */
record NfsLocator(String field, String host, String path, Optional<String> export, int uid, int gid) {
  static final String SCHEME = "nfs";

  static NfsLocator of(Resource resource) {
    String field = "resources[" + resource.id() + "]";
    URI uri = resource.locator();
    if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
      throw new InvalidSpecException(field + ".locator", "scheme must be nfs, was " + uri.getScheme());
    }
    if (uri.getHost() == null || uri.getHost().isBlank()) {
      throw new InvalidSpecException(field + ".locator", "needs a host: nfs://host/export/path");
    }
    if (uri.getPort() != -1) {
      throw new InvalidSpecException(field + ".locator",
          "a port is not supported: the server's portmapper (111) tells the NFS and MOUNT ports");
    }
    if (uri.getRawUserInfo() != null) {
      throw new InvalidSpecException(field + ".locator", "user-info is not supported: use properties uid/gid");
    }
    String version = queryValue(uri, "version").orElse("3");
    if (!version.equals("3")) {
      throw new InvalidSpecException(field + ".locator", "version=" + version
          + " is not supported: the Java NFS client here speaks NFSv3 only");
    }
    String path = normalize(field + ".locator", uri.getPath());
    Optional<String> export = resource.property("export").map(e -> normalize(field + ".properties.export", e));
    if (export.isPresent() && !(path.equals(export.get()) || path.startsWith(export.get() + "/")
        || export.get().equals("/"))) {
      throw new InvalidSpecException(field + ".properties.export",
          "'" + export.get() + "' is not a prefix of the locator's path '" + path + "'");
    }
    return new NfsLocator(field + ".locator", uri.getHost(), path, export,
        id(field + ".properties.uid", resource.property("uid").orElse("0")),
        id(field + ".properties.gid", resource.property("gid").orElse("0")));
  }

  /** Mount paths to try, longest first (or just the declared export). */
  List<String> exportCandidates() {
    if (export.isPresent()) {
      return List.of(export.get());
    }
    List<String> out = new ArrayList<>();
    String p = path;
    while (!p.isEmpty() && !p.equals("/")) {
      out.add(p);
      int slash = p.lastIndexOf('/');
      p = slash <= 0 ? "" : p.substring(0, slash);
    }
    out.add("/");
    return out;
  }

  /** The directories below the export down to the tree's root. */
  List<String> below(String mounted) {
    String rest = mounted.equals("/") ? path : path.substring(mounted.length());
    List<String> out = new ArrayList<>();
    for (String s : rest.split("/")) {
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** For messages. */
  String describe() {
    return SCHEME + "://" + host + path;
  }

  private static String normalize(String field, String raw) {
    if (raw == null || raw.isEmpty() || raw.charAt(0) != '/') {
      throw new InvalidSpecException(field, "needs an absolute path: nfs://host/export/path");
    }
    StringBuilder sb = new StringBuilder();
    for (String s : raw.split("/")) {
      if (s.isEmpty()) {
        continue;
      }
      if (s.equals(".") || s.equals("..")) {
        throw new InvalidSpecException(field, "path must not contain '.' or '..': " + raw);
      }
      sb.append('/').append(s);
    }
    return sb.length() == 0 ? "/" : sb.toString();
  }

  private static Optional<String> queryValue(URI uri, String key) {
    String q = uri.getQuery();
    if (q == null) {
      return Optional.empty();
    }
    for (String kv : q.split("&")) {
      int eq = kv.indexOf('=');
      if (eq > 0 && kv.substring(0, eq).equals(key)) {
        return Optional.of(kv.substring(eq + 1));
      }
    }
    return Optional.empty();
  }

  private static int id(String field, String text) {
    try {
      int v = Integer.parseInt(text);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new InvalidSpecException(field, "must be a non-negative integer, was '" + text + "'");
    }
  }
}
