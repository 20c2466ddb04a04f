package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import com.google.common.util.concurrent.Uninterruptibles;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ForwardingDriver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a hostile store or a stuck member can make Lencap hold: memory, threads and time stay bounded. */
class BoundedResourcesTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  Lencap lencap;
  ExecutorService pool;

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  Engine open(ResourceProvider provider, Optional<java.util.concurrent.Executor> executor) {
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), executor, List.of(),
        Clock.systemUTC());
    Engine engine = Engine.open(settings, new ProviderRegistry(List.of(provider)));
    lencap = engine;
    return engine;
  }

  Encapsulation group(ResiliencyPolicy policy) {
    memory.devices.put("d0", new byte[64 * 1024]);
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .policy(policy).build();
  }

  @Test
  void aChunkDeclaringAnotherSizeIsRefusedBeforeItIsDecompressed() {
    byte[] bomb = Zstd.compress(new byte[64 << 20], 1); // 64 MiB of zeros in a few KiB
    byte[] stored = new byte[bomb.length + 1];
    stored[0] = ChunkCodec.ZSTD;
    System.arraycopy(bomb, 0, stored, 1, bomb.length);
    ChunkCodec.UnreadableException e = assertThrows(ChunkCodec.UnreadableException.class,
        () -> ChunkCodec.plain().decode("chunks/ab/x", stored, 4096));
    assertTrue(e.getMessage().contains("declares " + (64 << 20)), e.getMessage());
  }

  @Test
  void aManifestWithAnOversizedChunkOrGarbageIsLeftOutNamedAndStopsOnlyCollection() throws Exception {
    open(memory, Optional.empty());
    Encapsulation g = group(ResiliencyPolicy.defaults());
    Checkpoint good = lencap.capture(g).join();
    String key = "checkpoints/g/" + good.id();
    String manifest = new String(ChunkCodec.plain().decode(key, Files.readAllBytes(store.resolve(key))),
        StandardCharsets.UTF_8);
    String crafted = manifest.replace(good.id(), "20000101T000000.000Z-0000")
        .replaceFirst("\"length\":\\d+", "\"length\":" + Integer.MAX_VALUE);
    Files.write(store.resolve("checkpoints/g/20000101T000000.000Z-0000"),
        ChunkCodec.plain().encode("checkpoints/g/20000101T000000.000Z-0000", crafted.getBytes(StandardCharsets.UTF_8)));
    Files.write(store.resolve("checkpoints/g/20000101T000000.000Z-0001"), new byte[] {0, '{', 'x'});

    assertEquals(List.of(good.id()), lencap.checkpoints("g").join().stream().map(Checkpoint::id).toList());
    CompletionException e = assertThrows(CompletionException.class,
        () -> lencap.restore(g, "20000101T000000.000Z-0000").join());
    assertTrue(e.getCause().getMessage().contains("checkpoints/g/20000101T000000.000Z-0000"), e.getCause().getMessage());
    Checkpoint next = lencap.capture(g).join(); // the group goes on
    assertEquals(Optional.of(good.id()), next.parent());
    long chunks = ((Engine) lencap).store().collect().deleted();
    assertEquals(0, chunks, "a collection went on while a manifest naming unknown chunks could not be read");
  }

  /**
   * The application's executor has one thread, and a member's copy in the pause hangs on it. The watchdog
   * must still resume the member: resuming never waits for a thread the stuck call holds.
   */
  @Test
  void theWatchdogResumesAMemberWhileItsCallHoldsEveryThreadOfTheExecutor() throws Exception {
    CountDownLatch hang = new CountDownLatch(1);
    CountDownLatch stuckInThePause = new CountDownLatch(1);
    CountDownLatch resumed = new CountDownLatch(1);
    java.util.Set<String> quiescedInThePause = ConcurrentHashMap.newKeySet();
    pool = Executors.newSingleThreadExecutor();
    memory.inPlace.add("d0"); // not a live cut: copied in the pause
    ResourceProvider stuck = new WrappedProvider(memory, d -> new ForwardingDriver(d) {
      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        quiescedInThePause.addAll(memory.quiesced);
        stuckInThePause.countDown();
        Uninterruptibles.awaitUninterruptibly(hang); // ignores interrupts, holds the only thread
        delegate.transfer(cut, c);
      }

      @Override
      public void resume() throws Exception {
        delegate.resume();
        resumed.countDown();
      }
    });
    open(stuck, Optional.of(pool));
    var capture = lencap.capture(group(ResiliencyPolicy.builder().pauseBudget(Duration.ofMillis(200))
        .pauseGrace(Duration.ofMillis(200)).build()));
    try {
      assertTrue(stuckInThePause.await(20, TimeUnit.SECONDS));
      assertEquals(java.util.Set.of("d0"), quiescedInThePause);
      // The watchdog runs on Lencap's timer while the stuck call holds the executor's only thread.
      assertTrue(resumed.await(20, TimeUnit.SECONDS), "the member stayed quiesced behind its own stuck call");
      assertTrue(memory.quiesced.isEmpty());
    } finally {
      hang.countDown();
    }
    assertThrows(CompletionException.class, capture::join);
  }

  @Test
  void aStorePathThatIsAFileSaysSo() throws Exception {
    Path file = Files.writeString(store.resolve("not-a-dir"), "x");
    io.lencap.api.UnavailableException e = assertThrows(io.lencap.api.UnavailableException.class,
        () -> Lencap.builder().store(file).build());
    assertTrue(e.getMessage().contains(file + " is not a directory") && !e.getMessage().contains("null"),
        e.getMessage());
  }

  @Test
  void aCallsTimeLimitStartsWhenItRuns() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    pool = Executors.newSingleThreadExecutor();
    try {
      Tasks tasks = new Tasks(pool, timer);
      CountDownLatch first = new CountDownLatch(1);
      var busy = tasks.call("busy", Duration.ofSeconds(30), () -> {
        first.await();
        return null;
      });
      var queued = tasks.call("queued", Duration.ofMillis(100), () -> "ran");
      Thread.sleep(300); // the queued call waits longer than its own limit for the thread...
      first.countDown();
      busy.result().get(10, TimeUnit.SECONDS);
      assertEquals("ran", queued.result().get(10, TimeUnit.SECONDS), "...which is not its time to run");
    } finally {
      timer.shutdownNow();
    }
  }
}
