package io.lencap.spi;

import java.time.Instant;
import java.util.function.Consumer;

/**
 * Optional driver extension ({@link ResourceDriver#extension}): pushes failures as they happen
 * (libvirt lifecycle events), so detection does not wait for the next probe.
 */
public interface FailureSignals {
  /** Starts delivering signals for the driver's resource; closing the handle stops them. */
  AutoCloseable subscribe(Consumer<Signal> listener) throws Exception;

  /** One observed change of the member's health. */
  record Signal(String resourceId, Kind kind, String detail, Instant at) {}

  /** What was observed. */
  enum Kind {
    CRASHED, STOPPED, PAUSED_ON_ERROR, UNREACHABLE, RECOVERED
  }
}
