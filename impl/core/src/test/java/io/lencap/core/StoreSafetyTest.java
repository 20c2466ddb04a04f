package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.Uninterruptibles;
import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.tck.ForwardingDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine against a hung member, skewed clocks and damaged chunks: nothing committed is ever incomplete. */
class StoreSafetyTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  Lencap lencap;

  /** The memory provider with each driver wrapped. */
  ResourceProvider wrapped(UnaryOperator<ResourceDriver> wrap) {
    return new WrappedProvider(memory, wrap);
  }

  /** The store's options. */
  Map<String, String> options = Map.of();

  Engine open(ResourceProvider provider, Clock clock) {
    EngineSettings settings = new EngineSettings(store.toUri(), options, Map.of(), Optional.empty(), List.of(),
        clock);
    Engine engine = Engine.open(settings, new ProviderRegistry(List.of(provider)));
    lencap = engine;
    return engine;
  }

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
  }

  Encapsulation group(int bytes, ResiliencyPolicy policy) {
    byte[] data = new byte[bytes];
    new Random(5).nextBytes(data);
    memory.devices.put("d0", data);
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .policy(policy).build();
  }

  @Test
  void aCutThatHangsCompletesTheCaptureAtItsGraceAndIsReleasedWhenItLands() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    CountDownLatch released = new CountDownLatch(1);
    open(wrapped(d -> new ForwardingDriver(d) {
      @Override
      public Cut cut(CaptureContext c) throws Exception {
        Uninterruptibles.awaitUninterruptibly(answer); // a stopped hypervisor: interrupts do not reach it
        return delegate.cut(c);
      }

      @Override
      public void release(Cut cut) throws Exception {
        delegate.release(cut);
        released.countDown();
      }
    }), Clock.systemUTC());
    Encapsulation g = group(64 * 1024, ResiliencyPolicy.builder().pauseBudget(Duration.ofMillis(200))
        .pauseGrace(Duration.ofMillis(300)).phaseTimeout(Duration.ofMinutes(1)).build());

    CompletableFuture<Throwable> outcome = lencap.capture(g).handle((cp, e) -> e);
    // The capture completes although the cut has not returned (it cannot: the latch is still closed).
    Throwable error = Failures.unwrap(outcome.get(30, TimeUnit.SECONDS));
    assertEquals(1, answer.getCount());
    CaptureAbortedException aborted = assertInstanceOf(CaptureAbortedException.class, error);
    assertEquals("m0", aborted.memberId());
    assertTrue(lencap.checkpoints("g").join().isEmpty());

    answer.countDown(); // the hypervisor answers: its cut lands after the abort
    assertTrue(released.await(30, TimeUnit.SECONDS), "the late cut was never released");
    assertTrue(memory.snapshots.isEmpty(), "the late cut's artefact was left behind");
  }

  /**
   * The application's clock runs 5 minutes ahead of the storage's (or behind): a collection that runs
   * while a capture writes its chunks must not take them, and the capture commits a whole checkpoint.
   */
  @Test
  void aCollectionDuringATransferSparesItsChunksWhateverTheClientClock() throws Exception {
    for (Duration skew : List.of(Duration.ofMinutes(5), Duration.ofMinutes(-5))) {
      CountDownLatch collected = new CountDownLatch(1);
      Engine[] self = new Engine[1];
      Engine engine = open(wrapped(d -> new ForwardingDriver(d) {
        @Override
        public void transfer(Cut cut, CaptureContext c) throws Exception {
          delegate.transfer(cut, c); // its chunks are written, the manifest is not
          self[0].store().collect(); // another process's collection, right now
          collected.countDown();
        }
      }), Clock.offset(Clock.systemUTC(), skew));
      self[0] = engine;
      Encapsulation g = group(256 * 1024, ResiliencyPolicy.builder().mode(CaptureMode.NON_BLOCKING).build());
      Checkpoint cp = lencap.capture(g).join();
      assertEquals(0, collected.getCount());
      assertTrue(lencap.verify("g").join().ok(), "clock skew " + skew + ": " + lencap.verify("g").join().problems());
      memory.devices.put("d0", new byte[0]);
      lencap.restore(g, cp.id()).join();
      assertEquals(256 * 1024, memory.devices.get("d0").length);
      lencap.close();
      lencap = null;
    }
  }

  /** An emptied chunk file is not reused by later captures because it exists: it is written again. */
  @Test
  void aTruncatedChunkIsReplacedNotReused() throws Exception {
    options = Map.of("packs", "false"); // a chunk per object
    open(wrapped(d -> d), Clock.systemUTC());
    Encapsulation g = group(64 * 1024, ResiliencyPolicy.defaults());
    lencap.capture(g).join();
    Path chunk;
    try (Stream<Path> s = Files.walk(store.resolve("chunks"))) {
      chunk = s.filter(Files::isRegularFile).findFirst().orElseThrow();
    }
    Files.write(chunk, new byte[0]);
    lencap.close();
    open(wrapped(d -> d), Clock.systemUTC()); // a new process: nothing known about the store
    Checkpoint second = lencap.capture(g).join();
    assertNotEquals(0, Files.size(chunk), "the damaged chunk was kept because it exists");
    assertTrue(lencap.verify("g").join().problems().stream().noneMatch(p -> p.checkpointId().equals(second.id())),
        "the new checkpoint was born corrupt");
  }

  /**
   * A pack cut short is not reused by later captures because it exists: the chunks past its end are read and
   * stored again, and the new checkpoint restores whole.
   */
  @Test
  void aTruncatedPackIsNotReused() throws Exception {
    open(wrapped(d -> d), Clock.systemUTC());
    Encapsulation g = group(64 * 1024, ResiliencyPolicy.defaults());
    byte[] data = memory.devices.get("d0").clone();
    lencap.capture(g).join();
    Path pack;
    try (Stream<Path> s = Files.walk(store.resolve("packs"))) {
      pack = s.filter(Files::isRegularFile).findFirst().orElseThrow();
    }
    byte[] whole = Files.readAllBytes(pack);
    Files.write(pack, java.util.Arrays.copyOf(whole, whole.length / 2));
    lencap.close();
    open(wrapped(d -> d), Clock.systemUTC()); // a new process: nothing known about the store
    Checkpoint second = lencap.capture(g).join();
    assertTrue(second.members().get(0).storedBytes() > 0, "nothing was stored again");
    assertTrue(lencap.verify("g").join().problems().stream().noneMatch(p -> p.checkpointId().equals(second.id())),
        "the new checkpoint was born corrupt");
    memory.devices.put("d0", new byte[0]);
    lencap.restore(g, second.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  /** An id or name that would be a path in the store is refused, naming the field, before any key is made. */
  @Test
  void idsThatAreNotNamesNeverReachAStoreKey() throws Exception {
    open(wrapped(d -> d), Clock.systemUTC());
    Encapsulation g = group(64 * 1024, ResiliencyPolicy.defaults());
    lencap.capture(g).join();
    for (String id : List.of("../../etc/passwd", "a/b", "", ".hidden")) {
      CompletionException e = assertThrows(CompletionException.class, () -> lencap.restore(g, id).join(), id);
      InvalidSpecException cause = assertInstanceOf(InvalidSpecException.class, e.getCause(), id);
      assertEquals("checkpointId", cause.field(), id);
    }
    CompletionException e = assertThrows(CompletionException.class, () -> lencap.delete("../g", "x").join());
    assertEquals("encapsulation", assertInstanceOf(InvalidSpecException.class, e.getCause()).field());
    assertEquals(1, lencap.checkpoints("g").join().size());
  }

  /**
   * A committed manifest is cached for the next capture; deleted behind the engine's back (another process's
   * retention), it is neither listed nor restored, and the next capture does not take it as its parent.
   */
  @Test
  void aCachedManifestDeletedElsewhereIsNotServed() throws Exception {
    open(wrapped(d -> d), Clock.systemUTC());
    Encapsulation g = group(64 * 1024, ResiliencyPolicy.defaults());
    Checkpoint first = lencap.capture(g).join();
    Files.delete(store.resolve("checkpoints/g/" + first.id()));
    assertEquals(List.of(), lencap.checkpoints("g").join());
    CompletionException e = assertThrows(CompletionException.class, () -> lencap.restore(g, first.id()).join());
    assertInstanceOf(io.lencap.api.NotFoundException.class, e.getCause());
    Checkpoint second = lencap.capture(g).join();
    assertEquals(Optional.empty(), second.parent(), "the deleted checkpoint was taken as the parent");
  }
}
