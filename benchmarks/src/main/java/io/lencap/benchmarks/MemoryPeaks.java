package io.lencap.benchmarks;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peak heap and direct memory of this JVM over a stretch of work. The heap's peak is the sum of its pools' peaks
 * (the JVM keeps one per pool, never for the heap as a whole, so this may exceed the heap's true peak); direct
 * memory has no peak in the JDK, so it is sampled every 5 ms, which can miss a shorter burst.
 */
final class MemoryPeaks implements AutoCloseable {
  private final AtomicLong direct = new AtomicLong();
  private final Thread sampler;
  private volatile boolean done;

  private MemoryPeaks() {
    ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
    sampler = new Thread(() -> {
      while (!done) {
        direct.accumulateAndGet(directNow(), Math::max);
        try {
          Thread.sleep(5); // a sampling period, not a synchronisation
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "memory-peaks");
    sampler.setDaemon(true);
    sampler.start();
  }

  /** Starts watching from now: the pools' peaks are reset. */
  static MemoryPeaks watch() {
    return new MemoryPeaks();
  }

  long heap() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  long direct() {
    return Math.max(direct.get(), directNow());
  }

  /** "peak heap H MiB, peak direct D MiB (max heap M MiB)". */
  String describe() {
    return String.format("peak heap %d MiB, peak direct %d MiB (max heap %d MiB)", heap() >> 20, direct() >> 20,
        Runtime.getRuntime().maxMemory() >> 20);
  }

  @Override
  public void close() throws InterruptedException {
    done = true;
    sampler.interrupt();
    sampler.join();
  }

  private static long directNow() {
    return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
  }
}
