package io.lencap.spi;

import io.lencap.api.Resource;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

/** What the engine gives a provider when it opens a driver. */
public interface ProviderContext {
  /**
   * A local scratch directory for cut artefacts (memory images, overlays), private to this Lencap
   * instance and kept across restarts so that crash repair can find what a dead process left.
   */
  Path workDirectory();

  Clock clock();

  /** The first installed {@link StorageSnapshot} that supports the resource; empty when none does. */
  default Optional<StorageSnapshot> storageSnapshot(Resource resource) {
    return Optional.empty();
  }
}
