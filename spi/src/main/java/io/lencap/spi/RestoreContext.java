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

  /**
   * This member's state in another committed checkpoint of the same encapsulation, read with verification: a
   * driver whose target still holds a known earlier state (a VM disk with the dirty bitmap of that checkpoint) can
   * write only what differs. Empty when the store holds no such checkpoint (deleted, or never committed) or it has
   * no such member. Nothing pins it: a driver relies on its entries and attributes, read when this returns.
   */
  default Optional<StoredState> stateIn(String checkpointId) {
    return Optional.empty();
  }

  /**
   * A note about how this member was restored (written differentially, or whole and why): logged, and published
   * as the detail of the member's {@code RESTORE} phase event when it completes.
   */
  default void note(String note) {}

  /** Reports bytes written to the target so far (progress events). */
  void progress(long bytesDone, long totalBytes);

  boolean isCancelled();

  void checkCancelled();
}
