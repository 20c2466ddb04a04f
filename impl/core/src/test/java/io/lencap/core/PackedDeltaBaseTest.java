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
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.Chunking;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deltas and their bases in packs (manifest format 5): fixed-size chunks below the backend's {@code packBelow} go
 * into packs and still serve as delta bases, and so do the deltas. The member that names a delta lists where it and
 * its base are; restore, verification, a sync and a collection read or keep them there, and a damaged delta or base
 * is detected, never reused.
 */
class PackedDeltaBaseTest {
  static final int CHUNK = 64 << 10; // under the local store's 128 KiB: packed
  static final int SIZE = 32 * CHUNK;

  @TempDir
  Path dir;

  final MemoryProvider memory = new MemoryProvider();
  final List<Engine> open = new ArrayList<>();

  @BeforeEach
  void chunking() {
    memory.chunking = Chunking.fixed(CHUNK);
  }

  @AfterEach
  void close() {
    open.forEach(Engine::close);
  }

  Engine open(String store) {
    return open(store, Map.of());
  }

  Engine open(String store, Map<String, String> options) {
    Engine e = Engine.open(new EngineSettings(dir.resolve(store).toUri(), options, Map.of(), Optional.empty(),
        List.of(), Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
    open.add(e);
    return e;
  }

  static Encapsulation group() {
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
  }

  byte[] device() {
    byte[] data = new byte[SIZE];
    new Random(11).nextBytes(data);
    memory.devices.put("d0", data);
    return data;
  }

  /** Rewrites one 4 KiB block in each of these chunks. */
  static void rewrite(byte[] data, int... chunks) {
    Random random = new Random(chunks.length);
    for (int c : chunks) {
      byte[] block = new byte[4096];
      random.nextBytes(block);
      System.arraycopy(block, 0, data, c * CHUNK + 8192, block.length);
    }
  }

  List<Path> files(String store, String under) throws IOException {
    Path d = dir.resolve(store).resolve(under);
    if (!Files.isDirectory(d)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(d)) {
      return s.filter(Files::isRegularFile).toList();
    }
  }

  void restoreAndCompare(Engine e, Checkpoint cp, byte[] expected) {
    memory.devices.put("d0", new byte[0]);
    e.restore(group(), cp.id()).join();
    assertArrayEquals(expected, memory.devices.get("d0"));
  }

  @Test
  void aDeltaOnAPackedChunkRestoresAndACollectionKeepsItsBase() throws IOException {
    Engine e = open("s");
    byte[] data = device();
    Checkpoint first = e.capture(group()).join();
    assertEquals(List.of(), files("s", "chunks"), "a fixed-size chunk under packBelow was stored alone");
    rewrite(data, 3, 17, 30);
    byte[] second = data.clone();
    Checkpoint cp2 = e.capture(group()).join();

    Manifest.Member m = e.store().manifest("g", cp2.id()).members().get(0);
    assertEquals(3, m.deltas().size(), "each changed chunk is a delta on the parent's packed chunk");
    assertTrue(m.slots().keySet().containsAll(m.deltas().values()), "the member lists where its bases are");
    assertEquals(m.deltas(), Map.copyOf(packedDeltas(m)), "the deltas are in packs too");
    assertEquals(List.of(), files("s", "deltas"));
    assertEquals(Manifest.FORMAT_PACKED_DELTAS, e.store().manifest("g", cp2.id()).format());
    assertTrue(cp2.members().get(0).storedBytes() < 3 * CHUNK / 4, "stored " + cp2.members().get(0).storedBytes());
    assertTrue(e.verify("g").join().ok());

    rewrite(data, 5); // a third capture names the second's deltas again, and stores one more
    Checkpoint cp3 = e.capture(group()).join();
    Manifest.Member m3 = e.store().manifest("g", cp3.id()).members().get(0);
    assertEquals(4, m3.deltas().size());
    assertTrue(m3.slots().keySet().containsAll(m3.deltas().values()));

    e.delete("g", first.id()).join(); // the bases' checkpoint goes: its packs stay, the later ones name them
    e.collect().join();
    restoreAndCompare(e, cp2, second);
    e.delete("g", cp2.id()).join();
    e.collect().join();
    restoreAndCompare(e, cp3, data);
    assertTrue(e.verify("g").join().ok());
  }

  /** The member's deltas in packs: chunk id to base. */
  static Map<String, String> packedDeltas(Manifest.Member m) {
    Map<String, String> out = new java.util.HashMap<>();
    m.packs().values().forEach(in -> in.stream().filter(p -> p.base() != null).forEach(p -> out.put(p.id(), p.base())));
    return out;
  }

  @Test
  void scatteredFourKibWritesStoreAboutWhatChangedAndRestore() {
    Engine e = open("s");
    byte[] data = device();
    e.capture(group()).join();
    Random random = new Random(5);
    int blocks = SIZE / 4096 / 100 + 1;
    for (int i = 0; i < blocks; i++) { // 1% of the 4 KiB blocks, at random
      byte[] block = new byte[4096];
      random.nextBytes(block);
      System.arraycopy(block, 0, data, random.nextInt(SIZE / 4096) * 4096, 4096);
    }
    Checkpoint second = e.capture(group()).join();
    long stored = second.members().get(0).storedBytes();
    assertTrue(stored <= SIZE * 3L / 100, "stored " + stored + " of " + SIZE);
    assertTrue(stored >= blocks * 4096L / 2, "stored too little to hold the change: " + stored);
    restoreAndCompare(e, second, data);
  }

  @Test
  void twoMembersWithTheSameChangeEachPackTheirOwnDeltaAndBothRestoreAfterASync() throws IOException {
    byte[] data = device();
    memory.devices.put("d1", data.clone());
    Encapsulation two = Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .resource(Resource.of("m1", ResourceType.BLOCK_VOLUME, "mem://d1")).build();
    Engine source = open("s");
    Engine target = open("t");
    source.capture(two).join();
    rewrite(data, 9);
    memory.devices.put("d1", data.clone());
    Checkpoint second = source.capture(two).join();
    Manifest m = source.store().manifest("g", second.id());
    assertEquals(packedDeltas(m.members().get(0)), packedDeltas(m.members().get(1)));
    assertEquals(1, packedDeltas(m.members().get(0)).size());
    assertTrue(source.verify("g").join().ok());
    source.sync("g", target).join();
    assertTrue(target.verify("g").join().ok());
    memory.devices.put("d0", new byte[0]);
    memory.devices.put("d1", new byte[0]);
    target.restore(two, second.id()).join();
    assertArrayEquals(data, memory.devices.get("d0"));
    assertArrayEquals(data, memory.devices.get("d1"));
  }

  @Test
  void aDamagedPackedDeltaFailsItsRestoreAndIsStoredWholeAgain() throws IOException {
    Engine e = open("s");
    byte[] data = device();
    e.capture(group()).join();
    rewrite(data, 12);
    Checkpoint second = e.capture(group()).join();
    Manifest.Member m = e.store().manifest("g", second.id()).members().get(0);
    Manifest.Packed delta = m.packs().values().stream().flatMap(List::stream).filter(p -> p.base() != null)
        .findFirst().orElseThrow();
    String pack = m.packs().entrySet().stream().filter(p -> p.getValue().contains(delta)).findFirst().orElseThrow()
        .getKey();
    Path file = dir.resolve("s").resolve(ChunkPacks.key(pack));
    byte[] b = Files.readAllBytes(file);
    b[(int) delta.offset() + delta.size() - 1] ^= 0x01;
    Files.write(file, b);

    VerifyReport report = e.verify("g").join();
    assertEquals(List.of(delta.id()), report.problems().stream().map(VerifyReport.Problem::chunkId).toList());
    Checkpoint third = e.capture(group()).join();
    assertFalse(e.store().manifest("g", third.id()).members().get(0).deltas().containsKey(delta.id()));
    assertTrue(third.members().get(0).storedBytes() >= CHUNK, "the damaged delta's content was not stored again");
    restoreAndCompare(e, third, data);
    CompletionException failed = assertThrows(CompletionException.class, () -> e.restore(group(), second.id()).join());
    assertEquals(delta.id(), assertInstanceOf(CorruptCheckpointException.class, failed.getCause()).chunkId());
  }

  @Test
  void aParentWhoseChunksAreWholeStillServesAsBase() throws IOException {
    Engine before = open("s", Map.of("packs", "false")); // chunks whole, as stores written before packs hold them
    byte[] data = device();
    Checkpoint first = before.capture(group()).join();
    before.close();
    Engine e = open("s");
    rewrite(data, 4);
    Checkpoint second = e.capture(group()).join();
    Manifest.Member m = e.store().manifest("g", second.id()).members().get(0);
    assertEquals(1, m.deltas().size());
    assertEquals(m.deltas(), packedDeltas(m), "the delta is in a pack");
    assertFalse(m.slots().containsKey(m.deltas().values().iterator().next()), "its base is the parent's whole chunk");
    assertEquals(1, m.packs().size(), "a chunk the parent names whole was packed again");
    restoreAndCompare(e, second, data);
    assertTrue(first.members().get(0).storedBytes() >= SIZE);
  }

  @Test
  void aSyncCarriesThePackedBasesAndTheTargetRestores() {
    Engine source = open("s");
    Engine target = open("t");
    byte[] data = device();
    source.capture(group()).join();
    rewrite(data, 1, 2);
    Checkpoint cp2 = source.capture(group()).join();
    source.sync("g", target).join();
    assertTrue(target.verify("g").join().ok());
    restoreAndCompare(target, cp2, data);
  }

  @Test
  void aDamagedPackedBaseFailsTheDeltasRestoreAndIsStoredWholeAgain() throws IOException {
    Engine e = open("s");
    byte[] data = device();
    Checkpoint first = e.capture(group()).join();
    rewrite(data, 7);
    Checkpoint cp2 = e.capture(group()).join();
    Manifest.Member m = e.store().manifest("g", cp2.id()).members().get(0);
    String delta = m.deltas().keySet().iterator().next();
    ChunkPacks.Slot base = m.slots().get(m.deltas().get(delta));
    Path pack = dir.resolve("s").resolve(ChunkPacks.key(base.pack()));
    byte[] b = Files.readAllBytes(pack);
    b[(int) base.offset() + base.size() / 2] ^= 0x10;
    Files.write(pack, b);

    VerifyReport report = e.verify("g").join();
    assertTrue(report.problems().stream().anyMatch(p -> p.chunkId().equals(delta) && p.checkpointId().equals(cp2.id())),
        report.problems().toString());

    Checkpoint cp3 = e.capture(group()).join(); // the damaged base and its delta are not named again
    Manifest.Member m3 = e.store().manifest("g", cp3.id()).members().get(0);
    assertFalse(m3.deltas().containsKey(delta), "the delta on a damaged base was named again");
    assertTrue(cp3.members().get(0).storedBytes() >= CHUNK, "the chunk was not stored again");
    restoreAndCompare(e, cp3, data);
    assertFalse(e.verify("g").join().problems().stream().anyMatch(p -> p.checkpointId().equals(cp3.id())));

    CompletionException failed = assertThrows(CompletionException.class, () -> e.restore(group(), cp2.id()).join());
    CorruptCheckpointException c = assertInstanceOf(CorruptCheckpointException.class, failed.getCause());
    assertEquals(delta, c.chunkId());
    assertTrue(c.getMessage().contains("in pack " + base.pack()), c.getMessage());
    assertTrue(first.members().get(0).storedBytes() > 0);
  }
}
