/**
 * Lencap's service-provider interface: resource providers ({@link io.lencap.spi.ResourceProvider}), store
 * backends ({@link io.lencap.spi.BlobBackendProvider}) and storage snapshots
 * ({@link io.lencap.spi.StorageSnapshot}), all found by {@link java.util.ServiceLoader}.
 */
module io.lencap.spi {
  requires transitive io.lencap.api;

  exports io.lencap.spi;
  exports io.lencap.spi.locator to io.lencap.core;
}
