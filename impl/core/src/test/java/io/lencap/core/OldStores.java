package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.lencap.api.Encapsulation;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Stores an earlier engine wrote (test resources {@code formatN-store}), each holding checkpoints of {@link #GROUP}:
 * copied, so that a test may extend and collect them, and opened with a {@link MemoryProvider}.
 */
final class OldStores {
  /** The group of every such store: member {@code m0}, the provider's device {@code d0}. */
  static final Encapsulation GROUP = Encapsulation.builder("g")
      .resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();

  private OldStores() {}

  /** An engine over a copy of resource {@code /name} in {@code dir}. */
  static Engine open(String name, Path dir, MemoryProvider memory) throws IOException, URISyntaxException {
    Path store = dir.resolve("store");
    copy(Path.of(OldStores.class.getResource("/" + name).toURI()), store);
    return Engine.open(new EngineSettings(store.toUri(), Map.of("workDirectory", dir.resolve("w").toString()),
        Map.of(), Optional.empty(), List.of(), Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
  }

  /** Restores checkpoint {@code id} onto an emptied device and checks that it holds {@code expected} again. */
  static void assertRestores(Engine e, MemoryProvider memory, String id, byte[] expected) {
    memory.devices.put("d0", new byte[0]);
    e.restore(GROUP, id).join();
    assertArrayEquals(expected, memory.devices.get("d0"));
  }

  private static void copy(Path from, Path to) throws IOException {
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
