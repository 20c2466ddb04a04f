package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store written before chunk deltas (format 1, {@code src/test/resources/format1-store}, written by the
 * engine of commit 97e1e4b with {@code MemoryProvider}: a 64 KiB device from {@code new Random(19)}, captured,
 * one byte of its sixth 4 KiB block flipped, captured again) stays readable, verifiable and extendable.
 */
class Format1StoreTest {
  @TempDir
  Path dir;

  @Test
  void restoresAndExtendsAStoreOfTheFirstFormat() throws Exception {
    byte[] first = new byte[64 << 10];
    new Random(19).nextBytes(first);
    byte[] second = first.clone();
    second[5 * 4096 + 7] ^= 1;

    MemoryProvider memory = new MemoryProvider();
    try (Engine e = OldStores.open("format1-store", dir, memory)) {
      List<Checkpoint> cps = e.checkpoints("g").join();
      assertEquals(2, cps.size());
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, cps.get(0).id(), first);
      OldStores.assertRestores(e, memory, cps.get(1).id(), second);

      second[9 * 4096] ^= 1;
      memory.devices.put("d0", second.clone());
      Checkpoint third = e.capture(OldStores.GROUP).join();
      assertEquals(4096 + 1, third.members().get(0).storedBytes(), "the new capture reused the old chunks");
      e.delete("g", cps.get(0).id()).join();
      e.collect().join();
      assertTrue(e.verify("g").join().ok());
      OldStores.assertRestores(e, memory, third.id(), second);
    }
  }

}
