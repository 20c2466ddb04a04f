package io.lencap.spi;

import io.lencap.api.Resource;
import java.net.URI;
import java.util.Optional;

/** What a driver sees of the restore it takes part in. Thread-safe. */
public interface RestoreContext {
  String encapsulation();

  String checkpointId();

  /** The member as it was captured. */
  Resource captured();

  /** Where it goes: the captured resource with the placement applied (the driver's own resource). */
  Resource target();

  /** True when {@link #target()} is the captured resource itself. */
  default boolean inPlace() {
    return captured().equals(target());
  }

  /**
   * Where another member of this restore goes, looked up by the locator it was captured at: a VM follows
   * the LUN or export it uses when the placement moves that member. Empty when no member was captured at
   * {@code capturedLocator} or when that member stays in place.
   */
  default Optional<Resource> relocated(URI capturedLocator) {
    return Optional.empty();
  }

  /** The stored state, read with verification. */
  StoredState state();

  /** Reports bytes written to the target so far (progress events). */
  void progress(long bytesDone, long totalBytes);

  boolean isCancelled();

  void checkCancelled();
}
