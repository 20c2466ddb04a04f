/**
 * Lencap's engine and checkpoint store. Exports nothing: users reach it through io.lencap.api
 * ({@code Lencap.builder()}), providers through io.lencap.spi.
 */
module io.lencap.core {
  requires io.lencap.spi;
  requires org.slf4j;
  requires com.google.common;
  requires com.github.luben.zstd_jni;
  requires com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.datatype.jsr310;

  opens io.lencap.core to com.fasterxml.jackson.databind;

  uses io.lencap.spi.ResourceProvider;
  uses io.lencap.spi.BlobBackendProvider;
  uses io.lencap.spi.StorageSnapshot;

  provides io.lencap.api.spi.EngineProvider with io.lencap.core.CoreEngineProvider;
  provides io.lencap.spi.BlobBackendProvider with io.lencap.core.LocalBackendProvider;
  provides io.lencap.spi.StorageSnapshot with io.lencap.core.CommandSnapshot;
}
