/**
 * Lencap's service-provider interface: resource providers ({@link io.lencap.spi.ResourceProvider}) and
 * store backends ({@link io.lencap.spi.BlobBackendProvider}), both found by {@link java.util.ServiceLoader}.
 */
module io.lencap.spi {
  requires transitive io.lencap.api;

  exports io.lencap.spi;
}
