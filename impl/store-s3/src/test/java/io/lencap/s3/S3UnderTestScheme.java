package io.lencap.s3;

import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import java.io.IOException;
import java.net.URI;
import java.util.Map;

/**
 * S3 under a scheme of a test's own ({@code SCHEME://bucket/prefix} opens {@code s3://bucket/prefix}), wrapped by the
 * test: the engine finds it as any backend provider and wraps it in its store limits, so the wrapper sees what a
 * real S3 backend would.
 */
abstract class S3UnderTestScheme implements BlobBackendProvider {
  private final String scheme;

  S3UnderTestScheme(String scheme) {
    this.scheme = scheme;
  }

  /** The S3 backend as the test wants it seen. */
  abstract BlobBackend wrap(BlobBackend s3);

  @Override
  public final String name() {
    return scheme;
  }

  @Override
  public final boolean supports(URI store) {
    return scheme.equals(store.getScheme());
  }

  @Override
  public final BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets)
      throws IOException {
    return wrap(new S3BackendProvider().open(URI.create("s3" + store.toString().substring(scheme.length())), options,
        secrets));
  }
}
