package io.lencap.cli;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapListener;
import io.lencap.api.NotFoundException;
import io.lencap.spec.SecretReferences;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Where the checkpoint store is and how to open it: {@code --store} or {@code LENCAP_STORE}. */
final class StoreOptions {
  @Option(names = "--store", scope = ScopeType.INHERIT, paramLabel = "URI", description = "the checkpoint store: a directory, file:/dir, "
      + "hdfs://nn:8020/dir or s3://bucket/prefix (default: $LENCAP_STORE)")
  @Nullable String store;

  @Option(names = "--store-option", scope = ScopeType.INHERIT, paramLabel = "KEY=VALUE", description = "a store option (s3.endpoint=..., "
      + "s3.region=...)")
  Map<String, String> options = new LinkedHashMap<>();

  @Option(names = "--store-secret", scope = ScopeType.INHERIT, paramLabel = "KEY=REF", description = "a store secret by reference only: "
      + "KEY=env:NAME or KEY=file:PATH (encryption.key, s3.secretKey); never its value")
  Map<String, String> secrets = new LinkedHashMap<>();

  /**
   * Opens the store with these listeners; the caller closes it. A local store is created only by a command
   * that writes ({@code create}): a mistyped path given to {@code list} is not found, not a new empty store.
   */
  Lencap open(Map<String, String> environment, boolean create, List<LencapListener> listeners) {
    URI uri = uri(environment);
    if (!create && "file".equals(uri.getScheme()) && !Files.isDirectory(Path.of(uri))) {
      throw new NotFoundException("no store at " + Path.of(uri) + "; check --store or LENCAP_STORE");
    }
    Lencap.Builder b = Lencap.builder().store(uri);
    options.forEach(b::storeOption);
    SecretReferences refs = new SecretReferences(environment::get, Path.of("."));
    secrets.forEach((key, ref) -> b.storeSecret(key, refs.resolve("--store-secret " + key, ref)));
    listeners.forEach(b::listener);
    return b.build();
  }

  URI uri(Map<String, String> environment) {
    String given = store != null ? store : environment.get("LENCAP_STORE");
    if (given == null || given.isBlank()) {
      throw new InvalidSpecException("--store", "no store given: pass --store URI or set LENCAP_STORE");
    }
    if (given.matches("[A-Za-z][A-Za-z0-9+.-]*:.*") && !given.matches("[A-Za-z]:\\\\.*")) {
      try {
        return new URI(given);
      } catch (URISyntaxException e) {
        throw new InvalidSpecException("--store", "not a URI: " + e.getMessage());
      }
    }
    return Path.of(given).toAbsolutePath().toUri();
  }
}
