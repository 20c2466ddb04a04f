package io.lencap.core;

import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.io.InputStream;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A fake provider for the engine's unit tests: devices are byte arrays in memory (locator
 * {@code mem://name}); a live cut copies the array. It records who is quiesced, so tests can check that
 * nobody stays paused.
 */
final class MemoryProvider implements ResourceProvider {
  final Map<String, byte[]> devices = new ConcurrentHashMap<>();
  final Set<String> quiesced = ConcurrentHashMap.newKeySet();
  final Map<String, byte[]> snapshots = new ConcurrentHashMap<>();
  volatile boolean liveCut = true;
  /** How devices are chunked: 4 KiB by default, {@link Chunking#blocks()} as block devices are. */
  volatile Chunking chunking = Chunking.fixed(4096);
  /**
   * When set, a transfer first reads each of the parent's chunks of its entry, as a driver that patches changes onto
   * them does, then runs this.
   */
  volatile Runnable afterReadingParent;
  /** Devices whose cut is in place (transferred in the pause unless frozen by their writers). */
  final Set<String> inPlace = ConcurrentHashMap.newKeySet();
  /** Device -> storage locator whose writes its cut redirects. */
  final Map<String, String> redirects = new ConcurrentHashMap<>();
  /** "device:phase" in the order the phases ran. */
  final java.util.List<String> calls = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
  /** Device -> where its restore context said device d0 went ({@code RestoreContext.relocated}). */
  final Map<String, java.util.Optional<Resource>> d0SeenAt = new ConcurrentHashMap<>();
  final java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();
  /** Completed by the first probe that finds a device missing. */
  volatile java.util.concurrent.CompletableFuture<String> missingSeen = new java.util.concurrent.CompletableFuture<>();

  @Override
  public String name() {
    return "memory";
  }

  @Override
  public Support supports(Resource r) {
    return "mem".equals(r.locator().getScheme()) ? Support.yes() : Support.no("scheme is not mem");
  }

  @Override
  public ResourceDriver open(Resource r, ProviderContext context) {
    String key = r.locator().getHost();
    return new ResourceDriver() {
      @Override
      public Set<Capability> capabilities() {
        return EnumSet.of(Capability.LIVE_CUT, Capability.RESTORE_ELSEWHERE);
      }

      @Override
      public void prepare(CaptureContext c) {
        device();
      }

      private byte[] device() {
        byte[] d = devices.get(key);
        if (d == null) {
          throw new NotFoundException("no device " + key);
        }
        return d;
      }

      @Override
      public void quiesce() {
        device();
        quiesced.add(key);
      }

      @Override
      public Cut cut(CaptureContext c) {
        if (!liveCut || inPlace.contains(key)) {
          return Cut.inPlace();
        }
        snapshots.put(c.checkpointId() + "/" + key, device().clone());
        c.method("memory-copy");
        Cut cut = Cut.live(Map.of("snapshot", c.checkpointId() + "/" + key));
        return redirects.containsKey(key) ? cut.redirecting(Set.of(redirects.get(key))) : cut;
      }

      @Override
      public void resume() {
        calls.add(key + ":resume");
        quiesced.remove(key);
      }

      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        calls.add(key + ":transfer");
        byte[] data = cut.live() ? snapshots.get(cut.artefacts().get("snapshot")) : device();
        c.state().attribute("length", Integer.toString(data.length));
        Runnable afterParent = afterReadingParent;
        if (afterParent != null && c.parent().isPresent()) {
          for (io.lencap.spi.ChunkRef chunk : c.parent().get().entry("data").orElseThrow().chunks()) {
            c.parent().get().read(chunk);
          }
          afterParent.run();
        }
        try (EntryWriter w = c.state().create("data", EntryKind.FILE, Map.of(), chunking)) {
          w.write(data, 0, data.length);
        }
      }

      @Override
      public void release(Cut cut) {
        String s = cut.artefacts().get("snapshot");
        if (s != null) {
          snapshots.remove(s);
        }
      }

      @Override
      public void prepareRestore(RestoreContext c) {}

      @Override
      public void restore(RestoreContext c) throws Exception {
        d0SeenAt.put(key, c.relocated(java.net.URI.create("mem://d0")));
        try (InputStream in = c.state().open(c.state().entry("data").orElseThrow())) {
          devices.put(key, in.readAllBytes());
        }
      }

      @Override
      public <T> java.util.Optional<T> extension(Class<T> type) {
        return type == io.lencap.spi.StorageSnapshot.class ? context.storageSnapshot(r).map(type::cast)
            : java.util.Optional.empty();
      }
    };
  }

  /** "device:probe" or "device:discard": that call blocks until {@link #release} (or its thread is interrupted). */
  final Set<String> hangs = ConcurrentHashMap.newKeySet();
  /** The calls of {@link #hangs} that were interrupted, as "device:call". */
  final java.util.List<String> interrupted = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
  private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);

  /** Lets every hanging call go on. */
  void release() {
    released.countDown();
  }

  private void hangIfAsked(String call) throws InterruptedException {
    if (hangs.contains(call)) {
      try {
        released.await();
      } catch (InterruptedException e) {
        synchronized (interrupted) { // the list's own lock
          interrupted.add(call);
          interrupted.notifyAll();
        }
        throw e;
      }
    }
  }

  /**
   * The interrupted calls, once {@code call} is among them or after 30 s: the engine interrupts a hung call's thread
   * and goes on, so the call records its interruption after the operation that gave up on it has returned.
   */
  java.util.List<String> interruptedOnce(String call) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    synchronized (interrupted) {
      long left;
      while (!interrupted.contains(call) && (left = deadline - System.nanoTime()) > 0) {
        java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(interrupted, left);
      }
      return java.util.List.copyOf(interrupted);
    }
  }

  /** Whether {@link #discarder} offers to remove a restored device. */
  volatile boolean discards = true;
  /** Devices discarded, in order. */
  final java.util.List<String> discarded = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  @Override
  public java.util.Optional<io.lencap.spi.Discarder> discarder(Resource r, ProviderContext context) {
    String key = r.locator().getHost();
    return discards ? java.util.Optional.of(() -> {
      hangIfAsked(key + ":discard");
      discarded.add(key);
      devices.remove(key);
    }) : java.util.Optional.empty();
  }

  @Override
  public Watcher watch(Resource r, ProviderContext context) {
    String key = r.locator().getHost();
    return () -> {
      hangIfAsked(key + ":probe");
      probes.incrementAndGet();
      if (devices.containsKey(key)) {
        return Health.healthy();
      }
      missingSeen.complete(key);
      return Health.failed("gone");
    };
  }
}
