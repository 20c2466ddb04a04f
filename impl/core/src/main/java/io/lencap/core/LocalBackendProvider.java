package io.lencap.core;

import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/** The embedded default store backend: a local (or distributed POSIX) directory, {@code file:} URIs. */
public final class LocalBackendProvider implements BlobBackendProvider {
  @Override
  public String name() {
    return "local";
  }

  @Override
  public boolean supports(URI store) {
    return "file".equalsIgnoreCase(store.getScheme());
  }

  @Override
  public BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets) throws IOException {
    return new LocalBackend(Path.of(store));
  }
}
