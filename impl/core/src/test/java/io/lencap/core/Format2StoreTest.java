package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.spi.Chunking;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store written with chunk deltas but before packs (format 2, {@code src/test/resources/format2-store}, written
 * by the engine of commit 1ace25d, the last engine before packs, with {@code MemoryProvider} and
 * {@link Chunking#blocks()}: a 512 KiB device from {@code new Random(23)}, captured, one byte of the 4 KiB block
 * at 300 KiB flipped, captured again, so that the second capture stored that chunk as a block delta in
 * {@code deltas/}) stays readable, verifiable and extendable.
 */
class Format2StoreTest {
  @TempDir
  Path dir;

  @Test
  void restoresAndExtendsAStoreOfTheSecondFormat() throws Exception {
    byte[] first = new byte[512 << 10];
    new Random(23).nextBytes(first);
    byte[] second = first.clone();
    second[300 * 1024 + 7] ^= 1;

    MemoryProvider memory = new MemoryProvider();
    memory.chunking = Chunking.blocks();
    try (Engine e = OldStores.open("format2-store", dir, memory)) {
      List<Checkpoint> cps = e.checkpoints("g").join();
      assertEquals(2, cps.size());
      assertEquals(Manifest.FORMAT, e.store().manifest("g", cps.get(0).id()).format());
      assertEquals(Manifest.FORMAT_DELTAS, e.store().manifest("g", cps.get(1).id()).format());
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, cps.get(0).id(), first);
      OldStores.assertRestores(e, memory, cps.get(1).id(), second);

      second[400 * 1024] ^= 1;
      memory.devices.put("d0", second.clone());
      Checkpoint third = e.capture(OldStores.GROUP).join();
      // The second chunk as a delta against the first capture's: the header (86 bytes: magic, version, the base's
      // id, length, block size, a bitmap of 64 blocks), its two changed 4 KiB blocks, and the codec's byte.
      assertEquals(86 + 2 * 4096 + 1, third.members().get(0).storedBytes(), "the new capture reused the old chunks");
      // That delta goes into a pack now (format 5); its base stays the old store's whole chunk.
      Manifest.Member stored = e.store().manifest("g", third.id()).members().get(0);
      assertEquals(Manifest.FORMAT_PACKED_DELTAS, e.store().manifest("g", third.id()).format());
      assertEquals(1, stored.packs().values().stream().flatMap(List::stream).filter(p -> p.base() != null).count());
      assertFalse(stored.slots().containsKey(stored.deltas().values().iterator().next()));
      e.delete("g", cps.get(0).id()).join();
      e.collect().join();
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, third.id(), second);

      e.delete("g", cps.get(1).id()).join();
      e.collect().join();
      assertEquals(List.of(third.id()), e.checkpoints("g").join().stream().map(Checkpoint::id).toList());
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, third.id(), second);
    }
  }
}
