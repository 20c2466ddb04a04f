package io.lencap.core;

import io.lencap.api.EngineProvider;
import io.lencap.api.Lencap;

/** Binds {@code Lencap.builder()} to this engine (found by {@link java.util.ServiceLoader}). */
public final class CoreEngineProvider implements EngineProvider {
  @Override
  public Lencap open(Lencap.Settings settings) {
    return Engine.open(settings);
  }
}
