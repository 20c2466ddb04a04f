package io.lencap.testing;

import java.lang.reflect.Method;

/**
 * Bytes the current thread has allocated so far, for fuzz targets that bound the memory an input may cost
 * (HotSpot's ThreadMXBean, by reflection: the modules under test do not read java.management).
 */
public final class Allocations {
  private static final Object THREADS;
  private static final Method ALLOCATED;

  static {
    try {
      THREADS = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
      ALLOCATED = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Allocations() {}

  public static long ofThisThread() {
    try {
      return (long) ALLOCATED.invoke(THREADS);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this JVM does not count allocations per thread", e);
    }
  }
}
