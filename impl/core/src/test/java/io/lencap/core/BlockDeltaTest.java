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
import io.lencap.api.Secret;
import io.lencap.api.SyncReport;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
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
 * Fixed-size chunks stored as block deltas against the parent's chunk: a scattered 4 KiB write costs about
 * 4 KiB, restores are bit-identical, damage to a delta or its base is caught naming the chunk, and collection,
 * sync and encryption keep every base a delta needs. Each delta here is an object of its own ({@code packs=false},
 * as in stores written before packs); {@link PackedDeltaBaseTest} has deltas and bases in packs.
 */
class BlockDeltaTest {
  static final int SIZE = 16 << 20;
  static final int BLOCKS = SIZE / 4096;

  @TempDir
  Path dir;

  final MemoryProvider memory = new MemoryProvider();
  final List<Engine> open = new ArrayList<>();
  final Random random = new Random(13);

  BlockDeltaTest() {
    memory.chunking = Chunking.blocks();
  }

  @AfterEach
  void close() {
    open.forEach(Engine::close);
  }

  Engine open(String store, Map<String, Secret> secrets) {
    Engine e = Engine.open(new EngineSettings(dir.resolve(store).toUri(), Map.of("workDirectory",
        dir.resolve("work").toString(), "packs", "false"), secrets, Optional.empty(), List.of(), Clock.systemUTC()),
        new ProviderRegistry(List.of(memory)));
    open.add(e);
    return e;
  }

  static Encapsulation group() {
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
  }

  byte[] device() {
    byte[] data = new byte[SIZE];
    random.nextBytes(data);
    memory.devices.put("d0", data.clone());
    return data;
  }

  /** Rewrites 1% of the device's 4 KiB blocks, chosen at random, with random bytes. */
  byte[] rewriteOnePercent(byte[] data) {
    byte[] changed = data.clone();
    byte[] block = new byte[4096];
    for (int i = 0; i < BLOCKS / 100; i++) {
      random.nextBytes(block);
      System.arraycopy(block, 0, changed, random.nextInt(BLOCKS) * 4096, 4096);
    }
    memory.devices.put("d0", changed.clone());
    return changed;
  }

  void assertRestores(Engine e, Checkpoint cp, byte[] expected) {
    memory.devices.put("d0", new byte[0]);
    e.restore(group(), cp.id()).join();
    assertArrayEquals(expected, memory.devices.get("d0"), "restore of " + cp.id());
  }

  long files(String store, String prefix) throws IOException {
    Path p = dir.resolve(store).resolve(prefix);
    if (!Files.exists(p)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(p)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void scatteredFourKibWritesStoreAboutWhatChanged() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    Checkpoint c1 = e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    byte[] third = rewriteOnePercent(second);
    Checkpoint c3 = e.capture(group()).join();

    for (Checkpoint c : List.of(c2, c3)) {
      long stored = c.members().get(0).storedBytes();
      assertTrue(stored <= SIZE * 3L / 100, c.id() + " stored " + stored + " bytes of " + SIZE);
      assertTrue(stored >= BLOCKS / 100 * 4096 / 2, c.id() + " stored too little to hold the change: " + stored);
    }
    assertTrue(files("s", "deltas") > 0);
    Manifest m3 = e.store().manifest("g", c3.id());
    assertEquals(Manifest.FORMAT_DELTAS, m3.format());
    assertEquals(Manifest.FORMAT, e.store().manifest("g", c1.id()).format());
    Map<String, String> deltas = m3.members().get(0).deltas();
    assertFalse(deltas.isEmpty());
    List<String> wholeOfC1 = e.store().manifest("g", c1.id()).members().get(0).entries().get(0).chunks().stream()
        .map(io.lencap.spi.ChunkRef::id).toList();
    assertTrue(wholeOfC1.containsAll(deltas.values()), "bases are the first capture's whole chunks");
    assertTrue(e.verify("g").join().ok());
    assertRestores(e, c3, third);
    assertRestores(e, c2, second);
    assertRestores(e, c1, first);
  }

  @Test
  void withDeltasOffTheSameChangeStoresWholeChunks() {
    System.setProperty("lencap.store.deltas", "false");
    try {
      Engine e = open("s", Map.of());
      byte[] first = device();
      e.capture(group()).join();
      byte[] second = rewriteOnePercent(first);
      Checkpoint c2 = e.capture(group()).join();
      long stored = c2.members().get(0).storedBytes();
      assertTrue(stored > SIZE / 5, "without deltas 1% of scattered 4 KiB writes stored only " + stored);
      assertRestores(e, c2, second);
    } finally {
      System.clearProperty("lencap.store.deltas");
    }
  }

  /** The chunk ids of c2 stored as deltas, with their bases. */
  static Map<String, String> deltasOf(Engine e, Checkpoint c) throws IOException {
    return e.store().manifest("g", c.id()).members().get(0).deltas();
  }

  static void flipLastByte(Path file) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[b.length - 1] ^= 1;
    Files.write(file, b);
  }

  /**
   * A driver that reads the parent's chunk before writing its block anew (a tracked VM disk patching the granules its
   * bitmap marks) hands the writer its delta base: the writer takes it as the store verified it moments before, and
   * does not read it again. The proof: the bases are damaged in the store between the driver's read and the write,
   * and the capture still stores deltas against them.
   */
  @Test
  void aDeltaTakesItsBaseFromTheParentChunkTheDriverJustRead() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    Checkpoint c1 = e.capture(group()).join();
    List<Path> bases = e.store().manifest("g", c1.id()).members().get(0).entries().get(0).chunks().stream()
        .map(c -> dir.resolve("s").resolve(ChunkStore.key(c.id()))).toList();
    memory.afterReadingParent = () -> bases.forEach(BlockDeltaTest::flipLastByteUnchecked);
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    memory.afterReadingParent = null;
    bases.forEach(BlockDeltaTest::flipLastByteUnchecked); // mended: the restore reads them

    long stored = c2.members().get(0).storedBytes();
    assertTrue(stored <= SIZE * 3L / 100, "stored " + stored + " bytes: the damaged bases were read again");
    assertFalse(deltasOf(e, c2).isEmpty());
    assertRestores(e, c2, second);
  }

  /**
   * A block changed again: the parent's chunk is itself a delta, and the new delta is taken against that delta's base
   * (bases are whole chunks), which the store verified as the driver read the parent's chunk: not read again either.
   */
  @Test
  void aDeltaOnAChunkStoredAsADeltaTakesItsBaseFromWhatTheDriverJustRead() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    Map<String, String> deltas = deltasOf(e, c2);
    assertFalse(deltas.isEmpty());
    byte[] third = second.clone();
    for (ChunkRef c : e.store().manifest("g", c2.id()).members().get(0).entries().get(0).chunks()) {
      if (deltas.containsKey(c.id())) {
        third[(int) c.offset() + 4096 + 7] ^= 1; // one more block of each chunk stored as a delta
      }
    }
    memory.devices.put("d0", third.clone());
    List<Path> bases = deltas.values().stream().distinct().map(id -> dir.resolve("s").resolve(ChunkStore.key(id)))
        .toList();
    memory.afterReadingParent = () -> bases.forEach(BlockDeltaTest::flipLastByteUnchecked);
    Checkpoint c3 = e.capture(group()).join();
    memory.afterReadingParent = null;
    bases.forEach(BlockDeltaTest::flipLastByteUnchecked); // mended: the restore reads them

    long stored = c3.members().get(0).storedBytes();
    assertTrue(stored < deltas.size() * 32L * 1024, "stored " + stored + " bytes for " + deltas.size()
        + " chunks changed again: the damaged bases were read again");
    assertEquals(deltas.size(), deltasOf(e, c3).size(), "each on the base of its parent's delta");
    assertRestores(e, c3, third);
  }

  static void flipLastByteUnchecked(Path file) {
    try {
      flipLastByte(file);
    } catch (IOException x) {
      throw new java.io.UncheckedIOException(x);
    }
  }

  @Test
  void aDamagedDeltaOrBaseFailsTheRestoreNamingTheChunk() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    e.capture(group()).join();
    rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    Map.Entry<String, String> d = deltasOf(e, c2).entrySet().iterator().next();

    flipLastByte(dir.resolve("s").resolve(ChunkStore.deltaKey(d.getKey())));
    CompletionException bad = assertThrows(CompletionException.class, () -> e.restore(group(), c2.id()).join());
    CorruptCheckpointException corrupt = assertInstanceOf(CorruptCheckpointException.class, bad.getCause());
    assertTrue(corrupt.getMessage().contains(d.getKey()), corrupt.getMessage());
    assertFalse(e.verify("g").join().ok());
    flipLastByte(dir.resolve("s").resolve(ChunkStore.deltaKey(d.getKey())));
    assertTrue(e.verify("g").join().ok());

    flipLastByte(dir.resolve("s").resolve(ChunkStore.key(d.getValue())));
    bad = assertThrows(CompletionException.class, () -> e.restore(group(), c2.id()).join());
    corrupt = assertInstanceOf(CorruptCheckpointException.class, bad.getCause());
    assertTrue(corrupt.getMessage().contains(d.getKey()) && corrupt.getMessage().contains(d.getValue()),
        corrupt.getMessage());
  }

  @Test
  void collectionKeepsTheBasesDeltasNeedAndTakesThemWithTheirLastCheckpoint() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    Checkpoint c1 = e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    long deltas = files("s", "deltas");

    e.delete("g", c1.id()).join(); // collects
    assertEquals(deltas, files("s", "deltas"), "a live checkpoint's deltas were collected");
    assertTrue(e.verify("g").join().ok());
    assertRestores(e, c2, second);

    e.delete("g", c2.id()).join(); // collects
    assertEquals(0, files("s", "deltas"));
    assertEquals(0, files("s", "chunks"));
  }

  @Test
  void aSyncCarriesDeltasWithTheirBases() throws IOException {
    Engine source = open("s", Map.of());
    Engine target = open("t", Map.of());
    byte[] first = device();
    Checkpoint c1 = source.capture(group()).join();
    source.sync("g", target).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = source.capture(group()).join();
    SyncReport report = source.sync("g", target).join();
    assertEquals(List.of(c2.id()), report.copied());
    assertTrue(report.bytesSent() <= SIZE * 3L / 100, "sent " + report.bytesSent());
    assertEquals(files("s", "deltas"), files("t", "deltas"));

    target.delete("g", c1.id()).join(); // the bases stay: c2 names them
    target.collect().join();
    assertTrue(target.verify("g").join().ok());
    assertRestores(target, c2, second);
  }

  @Test
  void anEncryptedStoreSealsItsDeltas() throws IOException {
    byte[] key = new byte[32];
    new Random(5).nextBytes(key);
    Map<String, Secret> secrets = Map.of("encryption.key", Secret.of(Base64.getEncoder().encodeToString(key)));
    Engine e = open("s", secrets);
    byte[] first = device();
    e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    assertTrue(c2.members().get(0).storedBytes() <= SIZE * 3L / 100, "stored " + c2.members().get(0).storedBytes());
    String delta = deltasOf(e, c2).keySet().iterator().next();
    assertEquals(ChunkCodec.SEALED, Files.readAllBytes(dir.resolve("s").resolve(ChunkStore.deltaKey(delta)))[0]);
    assertTrue(e.verify("g").join().ok());
    assertRestores(e, c2, second);

    Engine wrongKey = open("s", Map.of("encryption.key", Secret.of(Base64.getEncoder().encodeToString(new byte[32]))));
    assertThrows(CompletionException.class, () -> wrongKey.restore(group(), c2.id()).join());
  }

  @Test
  void aThirdCaptureKeepsUnchangedDeltasAsDeltas() {
    Engine e = open("s", Map.of());
    byte[] first = device();
    e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    e.capture(group()).join();
    Checkpoint c3 = e.capture(group()).join(); // nothing changed
    assertEquals(0, c3.members().get(0).storedBytes());
    assertRestores(e, c3, second);
    Engine other = open("s", Map.of()); // another process: no memory of what was written
    Checkpoint c4 = other.capture(group()).join();
    assertEquals(0, c4.members().get(0).storedBytes());
    assertRestores(other, c4, second);
  }

  @Test
  void aCaptureAfterADeltaIsFoundDamagedStoresThatContentWhole() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    String delta = deltasOf(e, c2).keySet().iterator().next();
    flipLastByte(dir.resolve("s").resolve(ChunkStore.deltaKey(delta)));
    assertFalse(e.verify("g").join().ok()); // reads every chunk: finds the damage

    Checkpoint c3 = e.capture(group()).join(); // the same content as c2
    assertFalse(deltasOf(e, c3).containsKey(delta), "c3 names the damaged delta again");
    assertTrue(Files.exists(dir.resolve("s").resolve(ChunkStore.key(delta))));
    assertRestores(e, c3, second);
  }

  @Test
  void aCaptureAfterADeltasBaseIsFoundDamagedStoresTheDeltasWhole() throws IOException {
    Engine e = open("s", Map.of());
    byte[] first = device();
    e.capture(group()).join();
    byte[] second = rewriteOnePercent(first);
    Checkpoint c2 = e.capture(group()).join();
    Map.Entry<String, String> d = deltasOf(e, c2).entrySet().iterator().next();
    flipLastByte(dir.resolve("s").resolve(ChunkStore.key(d.getValue())));
    assertFalse(e.verify("g").join().ok()); // reads every chunk: finds the damage

    Checkpoint c3 = e.capture(group()).join();
    assertFalse(deltasOf(e, c3).containsKey(d.getKey()), "c3 names a delta on the damaged base");
    assertRestores(e, c3, second);
  }

  @Test
  void aSyncVerifiesTheDeltaItSendsNotTheWholeChunk() throws IOException {
    Engine source = open("s", Map.of());
    Engine target = open("t", Map.of());
    byte[] first = device();
    source.capture(group()).join();
    rewriteOnePercent(first);
    Checkpoint c2 = source.capture(group()).join();
    String delta = deltasOf(source, c2).keySet().iterator().next();
    Manifest.Member member = source.store().manifest("g", c2.id()).members().get(0);
    io.lencap.spi.ChunkRef ref = member.entries().get(0).chunks().stream().filter(c -> c.id().equals(delta))
        .findFirst().orElseThrow();
    java.nio.ByteBuffer whole = source.store().chunks().read(ref, member.slots(), c2.id(), "m0");
    byte[] raw = new byte[whole.remaining()];
    whole.get(raw);
    source.store().chunks().put(delta, raw); // the source holds the chunk whole as well, intact
    flipLastByte(dir.resolve("s").resolve(ChunkStore.deltaKey(delta)));

    CompletionException bad = assertThrows(CompletionException.class, () -> source.sync("g", target).join());
    assertTrue(bad.getCause().getMessage().contains(delta), bad.getCause().getMessage());
  }

  @Test
  void aSyncSendsWholeAChunkWhoseDeltaInTheTargetNamesAnotherBase() throws IOException {
    Engine one = open("s", Map.of());
    Engine two = open("s2", Map.of());
    Engine target = open("t", Map.of());
    Encapsulation other = Encapsulation.builder("h")
        .resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
    byte[] first = device();
    byte[] second = first.clone();
    second[4096] ^= 1; // chunk 0, block 1
    byte[] firstOfTwo = first.clone();
    firstOfTwo[2 * 4096] ^= 1; // chunk 0, block 2: another base for the same second content
    one.capture(group()).join();
    memory.devices.put("d0", firstOfTwo.clone());
    Checkpoint h1 = two.capture(other).join();
    memory.devices.put("d0", second.clone());
    Checkpoint g2 = one.capture(group()).join();
    Checkpoint h2 = two.capture(other).join();
    Map.Entry<String, String> d1 = deltasOf(one, g2).entrySet().iterator().next();
    String base2 = two.store().manifest("h", h2.id()).members().get(0).deltas().get(d1.getKey());
    assertTrue(base2 != null && !base2.equals(d1.getValue()), "the two stores hold the chunk on two bases");

    one.sync("g", target).join();
    two.sync("h", target).join();
    for (Checkpoint c : target.checkpoints("g").join()) {
      target.delete("g", c.id()).join();
    }
    target.collect().join();
    assertTrue(target.verify("h").join().ok());
    memory.devices.put("d0", new byte[0]);
    target.restore(other, h2.id()).join();
    assertArrayEquals(second, memory.devices.get("d0"));
    assertTrue(h1.id() != null);
  }

  @Test
  void aManifestOfANewerFormatIsRefusedAndNotCollected() throws Exception {
    Engine e = open("s", Map.of());
    device();
    Checkpoint c = e.capture(group()).join();
    String key = CheckpointStore.manifestKey("g", c.id());
    Path file = dir.resolve("s").resolve(key);
    ChunkCodec codec = e.store().chunks().codec();
    String json = new String(codec.decode(key, Files.readAllBytes(file)), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(json.contains("\"format\":1"), json.substring(0, Math.min(200, json.length())));
    Files.write(file, codec.encode(key, json.replace("\"format\":1", "\"format\":9")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    long chunks = files("s", "chunks");

    Engine newer = open("s", Map.of()); // another process: nothing cached
    CompletionException bad = assertThrows(CompletionException.class, () -> newer.restore(group(), c.id()).join());
    assertTrue(bad.getCause().getMessage().contains(c.id()) && bad.getCause().getMessage().contains("format 9"),
        bad.getCause().getMessage());
    newer.collect().join();
    assertEquals(chunks, files("s", "chunks"), "a collection deleted the chunks of a manifest it cannot read");
  }
}
