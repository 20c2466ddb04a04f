package io.lencap.core;

/**
 * A time source for measuring intervals, in nanoseconds from an arbitrary origin: {@link System#nanoTime()},
 * or a test's fake time that moves only when told.
 */
@FunctionalInterface
interface Ticker {
  long read();

  static Ticker system() {
    return System::nanoTime;
  }
}
