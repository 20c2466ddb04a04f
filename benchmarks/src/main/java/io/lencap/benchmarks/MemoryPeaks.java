package io.lencap.benchmarks;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Peak heap and direct memory of this JVM over a stretch of work. The heap's peak is the sum of its pools' peaks
 * (the JVM keeps one per pool, never for the heap as a whole, so this may exceed the heap's true peak), garbage
 * included; the heap after collections is the most the heap held right after any collection in the stretch (what
 * survived it: the live set, and old garbage not yet collected), the figure that shows whether the work keeps
 * memory in proportion to its size. Direct memory has no peak in the JDK, so it is sampled every 5 ms, which can
 * miss a shorter burst.
 */
final class MemoryPeaks implements AutoCloseable {
  private final AtomicLong direct = new AtomicLong();
  private final AtomicLong afterGc = new AtomicLong();
  private final AtomicLong collections = new AtomicLong();
  private final Set<String> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
      .filter(p -> p.getType() == MemoryType.HEAP).map(MemoryPoolMXBean::getName).collect(Collectors.toSet());
  private final NotificationListener onCollection = this::collected;
  private final List<NotificationEmitter> emitters = new ArrayList<>();
  private final Thread sampler;
  private volatile boolean done;

  private MemoryPeaks() {
    ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter e) {
        e.addNotificationListener(onCollection, null, null);
        emitters.add(e);
      }
    }
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

  /** The most the heap held right after a collection, or -1 when none ran. */
  long heapAfterCollections() {
    return collections.get() == 0 ? -1 : afterGc.get();
  }

  private void collected(Notification n, Object handback) {
    if (!n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
      return;
    }
    GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
    long used = 0;
    for (var pool : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
      if (heapPools.contains(pool.getKey())) {
        MemoryUsage u = pool.getValue();
        used += u.getUsed();
      }
    }
    afterGc.accumulateAndGet(used, Math::max);
    collections.incrementAndGet();
  }

  /** "peak heap H MiB (after collections A MiB), peak direct D MiB (max heap M MiB)". */
  String describe() {
    long after = heapAfterCollections();
    return String.format("peak heap %d MiB (after collections %s), peak direct %d MiB (max heap %d MiB)",
        heap() >> 20, after < 0 ? "none ran" : "at most " + (after >> 20) + " MiB", direct() >> 20,
        Runtime.getRuntime().maxMemory() >> 20);
  }

  @Override
  public void close() throws InterruptedException {
    for (NotificationEmitter e : emitters) {
      try {
        e.removeNotificationListener(onCollection);
      } catch (ListenerNotFoundException ignored) {
        // registered above: cannot happen
      }
    }
    done = true;
    sampler.interrupt();
    sampler.join();
  }

  private static long directNow() {
    return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
  }
}
