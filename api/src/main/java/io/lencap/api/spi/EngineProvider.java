package io.lencap.api.spi;

import io.lencap.api.Lencap;

/**
 * How {@link Lencap.Builder#build()} finds its engine through {@link java.util.ServiceLoader}.
 * Implemented by lencap-core; users never call it.
 */
public interface EngineProvider {
  /** Opens an engine over the settings' store; see {@link Lencap.Builder#build()} for its errors. */
  Lencap open(EngineSettings settings);
}
