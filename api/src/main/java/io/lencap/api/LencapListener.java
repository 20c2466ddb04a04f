package io.lencap.api;

/**
 * Receives {@link LencapEvent}s. Called on Lencap's threads: return quickly and do not block. An
 * exception thrown here is logged and otherwise ignored.
 */
@FunctionalInterface
public interface LencapListener {
  void onEvent(LencapEvent event);
}
