package io.lencap.spi;

import java.nio.file.Path;
import java.time.Clock;

/** What the engine gives a provider when it opens a driver. */
public interface ProviderContext {
  /**
   * A local scratch directory for cut artefacts (memory images, overlays), private to this Lencap
   * instance and kept across restarts so that crash repair can find what a dead process left.
   */
  Path workDirectory();

  Clock clock();
}
