package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
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
    Path store = dir.resolve("store");
    copy(Path.of(Format1StoreTest.class.getResource("/format1-store").toURI()), store);
    byte[] first = new byte[64 << 10];
    new Random(19).nextBytes(first);
    byte[] second = first.clone();
    second[5 * 4096 + 7] ^= 1;

    MemoryProvider memory = new MemoryProvider();
    Encapsulation g = Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .build();
    try (Engine e = Engine.open(new EngineSettings(store.toUri(), Map.of("workDirectory", dir.resolve("w").toString()),
        Map.of(), Optional.empty(), List.of(), Clock.systemUTC()), new ProviderRegistry(List.of(memory)))) {
      List<Checkpoint> cps = e.checkpoints("g").join();
      assertEquals(2, cps.size());
      assertTrue(e.verify("g").join().ok());
      e.restore(g, cps.get(0).id()).join();
      assertArrayEquals(first, memory.devices.get("d0"));
      e.restore(g, cps.get(1).id()).join();
      assertArrayEquals(second, memory.devices.get("d0"));

      second[9 * 4096] ^= 1;
      memory.devices.put("d0", second.clone());
      Checkpoint third = e.capture(g).join();
      assertEquals(4096 + 1, third.members().get(0).storedBytes(), "the new capture reused the old chunks");
      e.delete("g", cps.get(0).id()).join();
      e.collect().join();
      assertTrue(e.verify("g").join().ok());
      memory.devices.put("d0", new byte[0]);
      e.restore(g, third.id()).join();
      assertArrayEquals(second, memory.devices.get("d0"));
    }
  }

  static void copy(Path from, Path to) throws java.io.IOException, URISyntaxException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}
