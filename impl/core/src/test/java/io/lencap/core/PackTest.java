package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small chunks in packs (manifest format 3): few objects, restored and verified chunk by chunk, kept by a collection
 * while a checkpoint names a chunk in them, a damaged one detected and never reused, a crafted slot refused.
 */
class PackTest {
  static final int SIZE = 1 << 20; // 256 chunks of 4 KiB

  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  Engine engine;

  Engine open(Map<String, String> options) {
    engine = Engine.open(new EngineSettings(store.toUri(), options, Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
    return engine;
  }

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
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

  List<Path> files(String dir) throws IOException {
    if (!Files.isDirectory(store.resolve(dir))) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(store.resolve(dir))) {
      return s.filter(Files::isRegularFile).toList();
    }
  }

  @Test
  void smallChunksGoIntoOnePackAndComeBackWhole() throws IOException {
    Engine e = open(Map.of());
    byte[] data = device(1);
    Checkpoint cp = e.capture(group()).join();
    assertEquals(List.of(), files("chunks"), "a small chunk was stored alone");
    assertEquals(1, files("packs").size());
    Manifest m = e.store().manifest("g", cp.id());
    assertEquals(Manifest.FORMAT_PACKS, m.format());
    assertFalse(new String(Json.write(m), java.nio.charset.StandardCharsets.UTF_8).contains("\"base\""),
        "a whole chunk's slot names no base: readers of format 3 see what they know");
    assertEquals(SIZE / 4096, m.members().get(0).slots().size());
    assertTrue(e.verify("g").join().ok());
    memory.devices.put("d0", new byte[0]);
    e.restore(group(), cp.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
  }

  @Test
  void twoMembersWithTheSameChunksStoreThemOnceAndEachRestores() throws IOException {
    Engine e = open(Map.of());
    byte[] data = device(5);
    memory.devices.put("d1", data.clone());
    Encapsulation two = Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .resource(Resource.of("m1", ResourceType.BLOCK_VOLUME, "mem://d1")).build();
    Checkpoint cp = e.capture(two).join();
    assertEquals((long) SIZE / 4096 * (4096 + 1), cp.members().stream().mapToLong(m -> m.storedBytes()).sum());
    Manifest m = e.store().manifest("g", cp.id());
    assertEquals(m.members().get(0).slots(), m.members().get(1).slots(), "each member says where its chunks are");
    memory.devices.put("d0", new byte[0]);
    memory.devices.put("d1", new byte[0]);
    e.restore(two, cp.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
    assertArrayEquals(data, memory.devices.get("d1"));
  }

  @Test
  void withPacksOffEachChunkIsAnObjectAndTheManifestStaysInAnOlderFormat() throws IOException {
    Engine e = open(Map.of("packs", "false"));
    device(1);
    Checkpoint cp = e.capture(group()).join();
    assertEquals(List.of(), files("packs"));
    assertEquals(SIZE / 4096, files("chunks").size());
    assertTrue(e.store().manifest("g", cp.id()).format() < Manifest.FORMAT_PACKS);
    assertThrows(Exception.class, () -> open(Map.of("packs", "maybe")), "an option that is not a flag");
  }

  @Test
  void aSecondCaptureNamesThePacksOfItsParentAndACollectionKeepsThem() throws IOException {
    Engine e = open(Map.of());
    byte[] data = device(2);
    Checkpoint first = e.capture(group()).join();
    for (int i = 0; i < 3; i++) {
      data[(i * 80 + 3) * 4096] ^= 1; // 3 of 256 chunks
    }
    Checkpoint second = e.capture(group()).join();
    assertEquals(3 * (4096 + 1), second.members().get(0).storedBytes());
    assertEquals(2, files("packs").size());
    assertEquals(2, e.store().manifest("g", second.id()).members().get(0).packs().size());

    e.delete("g", first.id()).join();
    e.collect().join();
    assertEquals(2, files("packs").size(), "a pack the second checkpoint names was collected");
    memory.devices.put("d0", new byte[0]);
    e.restore(group(), second.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));

    e.delete("g", second.id()).join(); // the group's last checkpoint: its deletion collects
    e.collect().join();
    assertEquals(List.of(), files("packs"));
  }

  @Test
  void aFlippedByteInAPackFailsTheRestoreAndIsStoredAgain() throws IOException {
    Engine e = open(Map.of());
    byte[] data = device(3);
    Checkpoint first = e.capture(group()).join();
    Path pack = files("packs").get(0);
    byte[] b = Files.readAllBytes(pack);
    b[b.length - 1] ^= 0x40; // the last chunk's last byte
    Files.write(pack, b);
    Manifest.Member m = e.store().manifest("g", first.id()).members().get(0);
    String last = m.slots().entrySet().stream().filter(s -> s.getValue().offset() + s.getValue().size() == b.length)
        .findFirst().orElseThrow().getKey();

    VerifyReport report = e.verify("g").join();
    assertEquals(1, report.problems().size());
    assertEquals(last, report.problems().get(0).chunkId());

    Checkpoint second = e.capture(group()).join();
    assertEquals(4096 + 1, second.members().get(0).storedBytes(), "the damaged chunk was not stored again");
    memory.devices.put("d0", new byte[0]);
    e.restore(group(), second.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
    CompletionException failed = assertThrows(CompletionException.class, () -> e.restore(group(), first.id()).join());
    CorruptCheckpointException c = assertInstanceOf(CorruptCheckpointException.class, failed.getCause());
    assertEquals(last, c.chunkId());
  }

  @Test
  void aManifestThatPlacesAChunkOutsideTheRulesIsRefused() {
    String id = "ab".repeat(32);
    List<StoredEntry> entries = List.of(new StoredEntry("data", EntryKind.FILE, 10, Map.of(),
        List.of(new ChunkRef(id, 0, 10))));
    for (Map<String, List<Manifest.Packed>> packs : List.of(
        Map.of("../../etc/passwd", List.of(new Manifest.Packed(id, 0, 11))),
        Map.of("cd".repeat(32), List.of(new Manifest.Packed(id, -1, 11))),
        Map.of("cd".repeat(32), List.of(new Manifest.Packed(id, 0, 0))),
        Map.of("cd".repeat(32), List.of(new Manifest.Packed(id, Long.MAX_VALUE - 5, 11))),
        Map.of("cd".repeat(32), List.of(new Manifest.Packed("ef".repeat(32), 0, 11))))) {
      Manifest m = new Manifest(Manifest.FORMAT_PACKS, "1", "g", null, io.lencap.api.CaptureMode.NON_BLOCKING,
          java.time.Instant.EPOCH, java.time.Instant.EPOCH, java.time.Instant.EPOCH, List.of(new Manifest.Member("m",
              ResourceType.BLOCK_VOLUME, "mem://d", Map.of(), "memory", 0, 10, 0, "m", List.of(), Map.of(), entries,
              Map.of(), packs)));
      assertThrows(LencapException.class, () -> ManifestLimits.check("checkpoints/g/1", m), packs.toString());
    }
  }

  @Test
  void aMissingPackIsStoredAgainByTheNextCapture() throws IOException {
    Engine e = open(Map.of());
    device(4);
    e.capture(group()).join();
    Files.delete(files("packs").get(0));
    e.close();
    Engine again = open(Map.of()); // a new process: the pack is looked up
    Checkpoint second = again.capture(group()).join();
    assertTrue(second.members().get(0).storedBytes() >= SIZE, "the lost chunks were not stored again");
    assertFalse(again.verify("g").join().problems().stream().anyMatch(p -> p.checkpointId().equals(second.id())));
  }
}
