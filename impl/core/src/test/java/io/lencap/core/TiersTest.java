package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Durability;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapEvent;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.UnavailableException;
import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiers over two local directories, the durable one behind a backend the test can hold (a latch) or fail:
 * a capture returns at the local commit, the copy follows and says so, a lost local tier restores from the
 * durable one, a failing durable tier loses nothing, and a copy left undone is completed later.
 */
class TiersTest {
  static final int SIZE = 1 << 20;

  @TempDir
  Path localDir;

  @TempDir
  Path durableDir;

  @TempDir
  Path work;

  final MemoryProvider memory = new MemoryProvider();
  final List<AutoCloseable> open = new ArrayList<>();
  final BlockingQueue<LencapEvent> events = new LinkedBlockingQueue<>();
  /** The durable store: its chunk writes can be failed or held, and it can stop answering. */
  GatedBackendProvider gate;
  /** The local tier's store options. */
  Map<String, String> localOptions = Map.of();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  TieredEngine tiered(Retention durableRetention) {
    if (gate == null) { // one gate per test, however often the tiers are opened
      gate = new GatedBackendProvider(durableDir, "the durable store");
    }
    EngineSettings settings = new EngineSettings(localDir.toUri(), localOptions, Map.of(), Optional.empty(),
        List.of(events::add), Clock.systemUTC(), Optional.of(new EngineSettings.Tier(URI.create("test:/durable"),
            Map.of("workDirectory", work.toString()), Map.of(), durableRetention)));
    TieredEngine e = TieredEngine.open(settings, ProviderRegistry.withBackends(List.of(memory), List.of()),
        ProviderRegistry.withBackends(List.of(memory), List.of(gate)));
    open.add(e);
    return e;
  }

  TieredEngine tiered() {
    return tiered(Retention.keepAll());
  }

  Encapsulation group(int keepLast) {
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .policy(ResiliencyPolicy.builder().keepLast(keepLast).build()).build();
  }

  byte[] device(long seed) {
    byte[] data = new byte[SIZE];
    new Random(seed).nextBytes(data);
    memory.devices.put("d0", data);
    return data;
  }

  /** The next event of a type, skipping others (phases, progress, commits). */
  <T extends LencapEvent> T next(Class<T> type) throws InterruptedException {
    while (true) {
      LencapEvent e = events.poll(60, TimeUnit.SECONDS);
      assertNotNull(e, "no " + type.getSimpleName() + " within 60 s");
      if (type.isInstance(e)) {
        return type.cast(e);
      }
    }
  }

  static Map<String, Durability> durability(TieredEngine e) {
    Map<String, Durability> out = new java.util.LinkedHashMap<>();
    e.checkpoints("g").join().forEach(cp -> out.put(cp.id(), cp.durability()));
    return out;
  }

  @Test
  void aCaptureReturnsAtTheLocalCommitAndTheCopyFollows() throws Exception {
    TieredEngine tiers = tiered();
    device(1);
    gate.hold = new CountDownLatch(1);

    Checkpoint cp = tiers.capture(group(0)).get(60, TimeUnit.SECONDS);
    assertEquals(Durability.LOCAL, cp.durability());
    GatedBackendProvider.await(gate.held); // the copy has started and is held at its first chunk
    assertEquals(Map.of(cp.id(), Durability.LOCAL), durability(tiers));
    assertTrue(tiers.durable().checkpoints("g").join().isEmpty(), "the durable copy arrived while held");
    assertEquals(cp.id(), next(LencapEvent.Committed.class).checkpointId());

    gate.hold.countDown();
    assertEquals(cp.id(), next(LencapEvent.Replicated.class).checkpointId());
    assertEquals(Map.of(cp.id(), Durability.REPLICATED), durability(tiers));
    assertTrue(tiers.durable().verify("g").join().ok());
  }

  @Test
  void aLocalTierPacksAsItsDurableTierWouldSoItsCopyIsFewObjects() throws Exception {
    memory.chunking = io.lencap.spi.Chunking.blocks(); // 256 KiB: a local directory alone stores each as a file
    gate = new GatedBackendProvider(durableDir, "the durable store");
    gate.packBelow = Integer.MAX_VALUE; // as S3's and HDFS's
    gate.packSize = 512 << 10; // two of the four chunks a pack (4 MiB by default: one)
    TieredEngine tiers = tiered();
    byte[] data = device(9);
    Checkpoint cp = tiers.capture(group(0)).get(60, TimeUnit.SECONDS);
    assertEquals(cp.id(), next(LencapEvent.Replicated.class).checkpointId());
    for (Path tier : List.of(localDir, durableDir)) {
      assertFalse(holdsFiles(tier.resolve("chunks")), tier + " holds chunks of their own");
      assertEquals(2, files(tier.resolve("packs")), tier + " holds packs of another size");
    }
    deleteTree(localDir);
    memory.devices.put("d0", new byte[0]);
    tiers.restore(group(0), cp.id()).get(60, TimeUnit.SECONDS);
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  static long files(Path dir) throws java.io.IOException {
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  static boolean holdsFiles(Path dir) throws java.io.IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      return s.anyMatch(Files::isRegularFile);
    }
  }

  @Test
  void withTheLocalTierDeletedARestoreReadsTheDurableTier() throws Exception {
    TieredEngine tiers = tiered();
    byte[] data = device(2);
    Checkpoint cp = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);

    deleteTree(localDir);
    assertEquals(Map.of(cp.id(), Durability.REPLICATED), durability(tiers));
    memory.devices.put("d0", new byte[0]);
    Checkpoint restored = tiers.restore(group(0), cp.id()).get(60, TimeUnit.SECONDS);
    assertEquals(Durability.REPLICATED, restored.durability());
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  /**
   * The durable store fails: each checkpoint stays LOCAL with a failure event naming the cause, the local
   * tier's retention keeps all of them (keepLast 1), and a repair once the store is back copies them all.
   */
  @Test
  void aFailingDurableTierLeavesLocalCheckpointsAndLosesNothing() throws Exception {
    TieredEngine tiers = tiered();
    gate.allowed.set(0);
    List<byte[]> contents = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      contents.add(device(10 + i));
      Checkpoint cp = tiers.capture(group(1)).join();
      assertEquals(Durability.LOCAL, cp.durability());
      ids.add(cp.id());
      LencapEvent.ReplicationFailed failed = next(LencapEvent.ReplicationFailed.class);
      assertTrue(failed.reason().contains("injected: the durable store went away"), failed.reason());
    }
    assertEquals(ids, List.copyOf(durability(tiers).keySet()), "retention removed a checkpoint not yet copied");
    assertTrue(durability(tiers).values().stream().allMatch(d -> d == Durability.LOCAL));
    // A repair copies after the copies under way: once it has failed, none is running (none pins a checkpoint).
    CompletionException repairFailed = assertThrows(CompletionException.class, () -> tiers.repair(group(1)).join());
    assertInstanceOf(UnavailableException.class, repairFailed.getCause());
    RetentionPlan plan = tiers.prune("g", Retention.builder().keepLast(1).build(), true).join();
    assertEquals(List.of(Replication.AWAITING), plan.decisions().get(0).reasons());

    gate.allowed.set(Integer.MAX_VALUE);
    tiers.repair(group(1)).get(60, TimeUnit.SECONDS);
    assertTrue(durability(tiers).values().stream().allMatch(d -> d == Durability.REPLICATED), durability(tiers)
        .toString());
    // Copied now: the local tier's retention may remove the older two; the durable tier keeps all three.
    assertEquals(ids.subList(0, 2), tiers.prune("g", Retention.builder().keepLast(1).build(), false).join().removed());
    assertEquals(3, tiers.durable().checkpoints("g").join().size());
    memory.devices.put("d0", new byte[0]);
    tiers.restore(group(1), ids.get(0)).get(60, TimeUnit.SECONDS); // from the durable tier: the local one lacks it
    assertArrayEquals(contents.get(0), memory.devices.get("d0"));
  }

  /**
   * A copy that did not finish (its process closed, as one that died, after part of the chunks): the
   * checkpoint is LOCAL for the next process, whose next capture copies it and the new one.
   */
  @Test
  void aCopyLeftUndoneIsCompletedByTheNextCapture() throws Exception {
    localOptions = Map.of("packs", "false"); // a chunk per object: the copy fails after 100 of them
    TieredEngine first = tiered();
    device(3);
    gate.allowed.set(100);
    Checkpoint a = first.capture(group(0)).join();
    next(LencapEvent.ReplicationFailed.class);
    first.close();
    open.remove(first);
    assertTrue(Files.list(durableDir.resolve("chunks")).findAny().isPresent(), "no chunk had arrived");

    gate.allowed.set(Integer.MAX_VALUE);
    TieredEngine second = tiered();
    assertEquals(Map.of(a.id(), Durability.LOCAL), durability(second));
    device(4);
    Checkpoint b = second.capture(group(0)).join();
    assertEquals(a.id(), next(LencapEvent.Replicated.class).checkpointId());
    assertEquals(b.id(), next(LencapEvent.Replicated.class).checkpointId());
    assertEquals(Map.of(a.id(), Durability.REPLICATED, b.id(), Durability.REPLICATED), durability(second));
    assertTrue(second.durable().verify("g").join().ok());
  }

  /** The durable tier's own retention, which keeps its newest checkpoint whatever the rules say. */
  @Test
  void theDurableTierHasItsOwnRetention() throws Exception {
    TieredEngine tiers = tiered(Retention.builder().keepLast(1).build());
    device(5);
    Checkpoint a = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);
    device(6);
    Checkpoint b = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);
    tiers.repair(group(0)).get(60, TimeUnit.SECONDS); // after the copy under way and its retention
    assertEquals(List.of(b.id()), tiers.durable().checkpoints("g").join().stream().map(Checkpoint::id).toList());
    assertEquals(Map.of(a.id(), Durability.LOCAL, b.id(), Durability.REPLICATED), durability(tiers));
    // a is not awaiting a copy (older than the durable tier's newest): local retention may remove it.
    assertEquals(List.of(a.id()), tiers.prune("g", Retention.builder().keepLast(1).build(), false).join().removed());
  }

  /**
   * A local checkpoint whose id sorts below the durable tier's newest (another node's capture there, or a
   * clock behind) still awaits its copy: local retention keeps it, and a repair copies it.
   */
  @Test
  void aLocalCheckpointOlderThanTheDurableNewestStillAwaitsItsCopy() throws Exception {
    TieredEngine tiers = tiered();
    gate.allowed.set(0);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      device(20 + i);
      ids.add(tiers.capture(group(0)).join().id());
      next(LencapEvent.ReplicationFailed.class);
    }
    gate.allowed.set(Integer.MAX_VALUE);
    device(22);
    String newer = tiers.durable().capture(group(0)).join().id(); // as another node's, on the same durable store
    assertTrue(newer.compareTo(ids.get(1)) > 0, newer + " does not sort after " + ids);

    tiers.prune("g", Retention.builder().keepLast(1).build(), false).join();
    for (String id : ids) {
      assertTrue(tiers.local().store().backend().exists(CheckpointStore.manifestKey("g", id))
          || tiers.durable().store().backend().exists(CheckpointStore.manifestKey("g", id)),
          "local retention deleted the only copy of " + id);
    }
    tiers.repair(group(0)).get(60, TimeUnit.SECONDS);
    List<String> durableIds = tiers.durable().checkpoints("g").join().stream().map(Checkpoint::id).toList();
    assertTrue(durableIds.containsAll(ids), durableIds + " lacks some of " + ids);
  }

  /** A checkpoint the durable tier's retention pruned is marked so, and not copied again from the local tier. */
  @Test
  void aCheckpointTheDurableTierPrunedIsNotCopiedAgain() throws Exception {
    TieredEngine tiers = tiered(Retention.builder().keepLast(1).build());
    device(30);
    Checkpoint a = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);
    device(31);
    Checkpoint b = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);
    tiers.repair(group(0)).get(60, TimeUnit.SECONDS);
    assertEquals(List.of(b.id()), tiers.durable().checkpoints("g").join().stream().map(Checkpoint::id).toList());
    assertTrue(tiers.durable().store().backend().exists(Replication.PRUNED + "g/" + a.id()), "no pruned mark");
    assertEquals(Map.of(), tiers.replication().awaiting("g", List.of(a.id(), b.id())));
  }

  /** A restore the local tier can serve does not need the durable tier to answer. */
  @Test
  void aLocalRestoreWorksWhileTheDurableTierIsDown() throws Exception {
    TieredEngine tiers = tiered();
    byte[] data = device(40);
    Checkpoint cp = tiers.capture(group(0)).join();
    next(LencapEvent.Replicated.class);
    gate.down = true;
    memory.devices.put("d0", new byte[0]);
    Checkpoint restored = tiers.restore(group(0), cp.id()).get(60, TimeUnit.SECONDS);
    assertEquals(Durability.LOCAL, restored.durability());
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  /**
   * A delete issued while the checkpoint's copy is under way (held at its first chunk, the manifest read)
   * waits for that copy and then deletes on both tiers: the checkpoint does not come back on the durable one.
   */
  @Test
  void aDeleteDuringTheCopyLeavesNothingOnEitherTier() throws Exception {
    TieredEngine tiers = tiered();
    device(50);
    gate.hold = new CountDownLatch(1);
    Checkpoint cp = tiers.capture(group(0)).get(60, TimeUnit.SECONDS);
    GatedBackendProvider.await(gate.held);
    java.util.concurrent.CompletableFuture<Void> deleted = tiers.delete("g", cp.id());
    gate.hold.countDown();
    deleted.get(60, TimeUnit.SECONDS);
    tiers.repair(group(0)).get(60, TimeUnit.SECONDS); // after anything the replication thread had queued
    assertEquals(Map.of(), durability(tiers));
    assertTrue(tiers.durable().checkpoints("g").join().isEmpty(), "the deleted checkpoint came back");
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
