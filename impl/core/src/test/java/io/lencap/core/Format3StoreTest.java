package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.spi.Chunking;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store with packs, before deltas and their bases went into packs (format 3, {@code src/test/resources/format3-store},
 * written by the engine of commit e6029b5, the last before formats 4 and 5, with {@code MemoryProvider} and 4 KiB
 * chunks: a 512 KiB device from {@code new Random(29)}, captured, one byte at 300 KiB + 7 flipped, captured again, so
 * that each capture wrote a pack and the second names the first's) stays readable, verifiable and extendable.
 */
class Format3StoreTest {
  @TempDir
  Path dir;

  @Test
  void restoresAndExtendsAStoreOfTheThirdFormat() throws Exception {
    byte[] first = new byte[512 << 10];
    new Random(29).nextBytes(first);
    byte[] second = first.clone();
    second[300 * 1024 + 7] ^= 1;

    MemoryProvider memory = new MemoryProvider();
    memory.chunking = Chunking.fixed(4096);
    try (Engine e = OldStores.open("format3-store", dir, memory)) {
      List<Checkpoint> cps = e.checkpoints("g").join();
      assertEquals(2, cps.size());
      for (Checkpoint cp : cps) {
        assertEquals(Manifest.FORMAT_PACKS, e.store().manifest("g", cp.id()).format());
      }
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, cps.get(0).id(), first);
      OldStores.assertRestores(e, memory, cps.get(1).id(), second);

      second[100 * 1024] ^= 1;
      memory.devices.put("d0", second.clone());
      Checkpoint third = e.capture(OldStores.GROUP).join();
      assertEquals(4096 + 1, third.members().get(0).storedBytes(), "the new capture reused the old packs");
      assertEquals(Manifest.FORMAT_PACKS, e.store().manifest("g", third.id()).format());
      e.delete("g", cps.get(0).id()).join();
      e.delete("g", cps.get(1).id()).join();
      e.collect().join();
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, third.id(), second);
    }
  }
}
