/**
 * Lencap's public API: declare an {@link io.lencap.api.Encapsulation}, give it a
 * {@link io.lencap.api.ResiliencyPolicy}, then capture and restore it through {@link io.lencap.api.Lencap}.
 */
module io.lencap.api {
  requires static transitive org.jspecify;

  exports io.lencap.api;
  // The engine's binding: only lencap-core implements it.
  exports io.lencap.api.spi to io.lencap.core;

  uses io.lencap.api.spi.EngineProvider;
}
