package io.lencap.core;

import io.lencap.api.Lencap;
import io.lencap.api.spi.EngineProvider;
import io.lencap.api.spi.EngineSettings;

/** Binds {@code Lencap.builder()} to this engine (found by {@link java.util.ServiceLoader}). */
public final class CoreEngineProvider implements EngineProvider {
  @Override
  public Lencap open(EngineSettings settings) {
    if (settings.durable().isPresent()) {
      ClassLoader loader = Engine.class.getClassLoader();
      return TieredEngine.open(settings, new ProviderRegistry(loader), new ProviderRegistry(loader));
    }
    return Engine.open(settings);
  }
}
