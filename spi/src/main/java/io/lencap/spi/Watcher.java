package io.lencap.spi;

import io.lencap.api.FailureKind;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Watches one resource's health for as long as a protection runs, apart from any capture or restore: the
 * engine {@linkplain #probe probes} it on the policy's schedule, and a watcher that can see failures as they
 * happen (libvirt's lifecycle events) also pushes them through {@link #subscribe}, so that detection does not
 * wait for the next probe. Opened by {@link ResourceProvider#watch}; closed when the protection stops.
 *
 * <p>A watcher whose check keeps nothing open can be a lambda: {@code return () -> Health.healthy();}.
 */
public interface Watcher extends AutoCloseable {
  /** A quick health check. Blocks; the engine calls it on its own threads. */
  Health probe() throws Exception;

  /**
   * Starts pushing the resource's failures and recoveries to {@code listener}; closing the handle stops them.
   * By default nothing is pushed and detection relies on {@link #probe}.
   */
  default AutoCloseable subscribe(Consumer<Signal> listener) throws Exception {
    return () -> {};
  }

  /** Releases what the watcher holds open (connections, event registrations). */
  @Override
  default void close() throws Exception {}

  /**
   * One observed change of the resource's health: a failure, in the API's own terms, or a recovery (empty).
   *
   * @param failure what went wrong, or empty when the resource recovered (reachable again)
   */
  record Signal(String resourceId, Optional<FailureKind> failure, String detail, Instant at) {
    /** The resource failed. */
    public static Signal failed(String resourceId, FailureKind kind, String detail, Instant at) {
      return new Signal(resourceId, Optional.of(kind), detail, at);
    }

    /** The resource recovered: whether it really did is for a probe to confirm. */
    public static Signal recovered(String resourceId, String detail, Instant at) {
      return new Signal(resourceId, Optional.empty(), detail, at);
    }
  }
}
