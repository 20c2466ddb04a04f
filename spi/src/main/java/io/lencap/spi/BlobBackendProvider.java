package io.lencap.spi;

import io.lencap.api.Secret;
import java.net.URI;
import java.util.Map;

/**
 * Opens a {@link BlobBackend} for a store URI; found by {@link java.util.ServiceLoader}. The local
 * directory backend ({@code file:}) is built into lencap-core; {@code hdfs:} and {@code s3:} come with
 * their modules.
 */
public interface BlobBackendProvider {
  /** A short name ({@code local}, {@code hdfs}, {@code s3}). */
  String name();

  /** Whether this provider opens the URI (by scheme), judged without I/O. */
  boolean supports(URI store);

  /**
   * Opens the backend, creating its root if needed.
   *
   * @param options backend settings (endpoint, region, replication)
   * @param secrets credentials; never log them
   */
  BlobBackend open(URI store, Map<String, String> options, Map<String, Secret> secrets) throws java.io.IOException;
}
