package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.Secret;
import io.lencap.api.SyncReport;
import io.lencap.api.UnavailableException;
import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sync between two local stores: incremental by chunk, completed by a rerun after a failure mid-way,
 * consistent while the source captures, prunes and collects, and encrypted objects copied as they are.
 */
class SyncTest {
  static final int SIZE = 4 << 20;
  static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);

  @TempDir
  Path sourceDir;

  @TempDir
  Path targetDir;

  final MemoryProvider memory = new MemoryProvider();
  final List<Lencap> open = new ArrayList<>();
  /** The target store: its chunk writes can be failed or held. */
  GatedBackendProvider gate;
  /** The store option {@code packs} of both stores. */
  String packs = "true";

  @AfterEach
  void close() {
    open.forEach(Lencap::close);
  }

  Engine source(Map<String, Secret> secrets) {
    return open(sourceDir.toUri(), secrets, ProviderRegistry.withBackends(List.of(memory), List.of()));
  }

  /** The target store through a backend the test can fail or hold ({@code test:} URIs). */
  Engine target(Map<String, Secret> secrets) {
    if (gate == null) { // one gate per test, however often the target is opened
      gate = new GatedBackendProvider(targetDir, "the target");
    }
    return open(URI.create("test:/target"), secrets, ProviderRegistry.withBackends(List.of(memory), List.of(gate)));
  }

  Engine open(URI store, Map<String, Secret> secrets, ProviderRegistry registry) {
    Engine e = Engine.open(new EngineSettings(store, Map.of("workDirectory", sourceDir.resolve("work").toString(),
        "packs", packs), secrets, Optional.empty(), List.of(), Clock.systemUTC()), registry);
    open.add(e);
    return e;
  }

  Encapsulation group() {
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
  }

  byte[] device(long seed) {
    byte[] data = new byte[SIZE];
    new Random(seed).nextBytes(data);
    memory.devices.put("d0", data);
    return data;
  }

  /** Changes 1% of the device's 4 KiB chunks, spread over it. */
  byte[] changeOnePercent(byte[] data) {
    byte[] changed = data.clone();
    int chunks = SIZE / 4096;
    for (int i = 0; i < chunks / 100; i++) {
      changed[(i * 100 + 37) * 4096 + 5] ^= 1;
    }
    memory.devices.put("d0", changed);
    return changed;
  }

  @Test
  void aSecondSyncAfterAOnePercentChangeSendsAboutOnePercentOfTheBytes() {
    Engine source = source(Map.of());
    Engine target = target(Map.of());
    byte[] data = device(1);
    source.capture(group()).join();
    SyncReport first = source.sync("g", target).join();
    assertEquals(1, first.copied().size());
    assertEquals(SIZE / 4096, first.chunksSent());

    byte[] changed = changeOnePercent(data);
    Checkpoint second = source.capture(group()).join();
    SyncReport next = source.sync("g", target).join();

    assertEquals(List.of(second.id()), next.copied());
    assertEquals(first.copied(), next.present());
    assertEquals(SIZE / 4096 / 100, next.chunksSent());
    double ratio = (double) next.bytesSent() / first.bytesSent();
    assertTrue(ratio > 0.008 && ratio < 0.012, "sent " + next.bytesSent() + " of " + first.bytesSent());
    assertEquals(SIZE / 4096 - next.chunksSent(), next.chunksPresent());
    assertEquals(0, source.sync("g", target).join().chunksSent(), "a sync with nothing new sent something");

    assertTrue(target.verify("g").join().ok());
    memory.devices.put("d0", new byte[0]);
    target.restore(group(), second.id()).join();
    assertArrayEquals(changed, memory.devices.get("d0"));
  }

  @Test
  void aSyncThatFailsMidWayIsCompletedByARerun() throws IOException {
    packs = "false"; // a chunk per object: the sync fails after 300 of 1,024
    Engine source = source(Map.of());
    Engine target = target(Map.of());
    byte[] data = device(2);
    Checkpoint cp = source.capture(group()).join();
    gate.allowed.set(300);

    CompletionException failed = assertThrows(CompletionException.class, () -> source.sync("g", target).join());
    assertInstanceOf(UnavailableException.class, failed.getCause());
    assertTrue(target.checkpoints("g").join().isEmpty(), "a partial copy was committed");

    gate.allowed.set(Integer.MAX_VALUE);
    SyncReport rerun = source.sync("g", target).join();
    assertEquals(List.of(cp.id()), rerun.copied());
    assertTrue(rerun.chunksPresent() >= 290, "the rerun sent again what had arrived: " + rerun);
    assertEquals(SIZE / 4096, rerun.chunksSent() + rerun.chunksPresent());
    assertTrue(target.verify("g").join().ok());
    assertTrue(source.store().journal().isEmpty() && target.store().journal().isEmpty(), "records left behind");
    memory.devices.put("d0", new byte[0]);
    target.restore(group(), cp.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  /**
   * While a sync copies, the source commits a new capture, prunes to the newest checkpoint and collects:
   * the checkpoint being copied is kept (a sync reads it), and the copy arrives whole.
   */
  @Test
  void aSyncWhileTheSourceCapturesPrunesAndCollects() throws Exception {
    Engine source = source(Map.of());
    Engine target = target(Map.of());
    device(3);
    Checkpoint copied = source.capture(group()).join();
    gate.hold = new CountDownLatch(1);
    CompletableFuture<SyncReport> sync = source.sync("g", target);
    GatedBackendProvider.await(gate.held);

    device(4);
    Checkpoint newer = source.capture(group()).join();
    RetentionPlan plan = source.prune("g", Retention.builder().keepLast(1).build(), false).join();
    assertEquals(List.of("read by a restore or sync"), plan.decisions().get(0).reasons());
    source.store().collect();
    gate.hold.countDown();

    SyncReport report = sync.get(60, TimeUnit.SECONDS);
    assertEquals(List.of(copied.id()), report.copied());
    assertTrue(target.verify("g").join().ok());
    // The pin is gone with the sync: retention now removes the copied checkpoint from the source.
    assertEquals(List.of(copied.id()), source.prune("g", Retention.builder().keepLast(1).build(), false).join()
        .removed());
    assertEquals(List.of(newer.id()), source.sync("g", target).join().copied());
    assertEquals(2, target.checkpoints("g").join().size());
  }

  @Test
  void anEncryptedStoreIsCopiedAsItIsAndTheTargetNeedsNoKey() throws IOException {
    Map<String, Secret> key = Map.of("encryption.key", Secret.of(KEY));
    Engine source = source(key);
    Engine target = target(Map.of()); // no key
    byte[] data = device(5);
    Checkpoint cp = source.capture(group()).join();
    SyncReport report = source.sync("g", target).join();
    assertEquals(List.of(cp.id()), report.copied());

    try (Stream<Path> files = Files.walk(sourceDir.resolve("packs"))) {
      List<Path> packed = files.filter(Files::isRegularFile).toList();
      assertFalse(packed.isEmpty());
      for (Path pack : packed) {
        assertArrayEquals(Files.readAllBytes(pack), Files.readAllBytes(targetDir.resolve(sourceDir.relativize(pack))));
      }
    }
    assertThrows(CompletionException.class, () -> target.checkpoints("g").join(), "read without the key");
    target.close();
    open.remove(target);
    Engine withKey = open(targetDir.toUri(), key, ProviderRegistry.withBackends(List.of(memory), List.of()));
    assertTrue(withKey.verify("g").join().ok());
    memory.devices.put("d0", new byte[0]);
    withKey.restore(group(), cp.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
  }
}
