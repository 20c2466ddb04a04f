package io.lencap.spi;

import io.lencap.api.FailureKind;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Optional driver extension ({@link ResourceDriver#extension}): pushes failures as they happen
 * (libvirt lifecycle events), so detection does not wait for the next probe.
 */
public interface FailureSignals {
  /** Starts delivering signals for the driver's resource; closing the handle stops them. */
  AutoCloseable subscribe(Consumer<Signal> listener) throws Exception;

  /**
   * One observed change of the member's health: a failure, in the API's own terms, or a recovery (empty).
   *
   * @param failure what went wrong, or empty when the member recovered (reachable again)
   */
  record Signal(String resourceId, Optional<FailureKind> failure, String detail, Instant at) {
    /** The member failed. */
    public static Signal failed(String resourceId, FailureKind kind, String detail, Instant at) {
      return new Signal(resourceId, Optional.of(kind), detail, at);
    }

    /** The member recovered: whether it really did is for a probe to confirm. */
    public static Signal recovered(String resourceId, String detail, Instant at) {
      return new Signal(resourceId, Optional.empty(), detail, at);
    }
  }
}
