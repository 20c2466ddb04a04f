package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.CheckpointDiff;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the store tells about itself: its groups, what changed between two checkpoints, a collection on demand. */
class StoreInspectionTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  Lencap lencap;

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
  }

  Lencap open() {
    lencap = Engine.open(new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(), List.of(),
        Clock.systemUTC()), new ProviderRegistry(List.of(memory)));
    return lencap;
  }

  Encapsulation group(String name, String... devices) {
    Encapsulation.Builder b = Encapsulation.builder(name);
    Random random = new Random(devices.length);
    for (String d : devices) {
      byte[] data = new byte[256 * 1024];
      random.nextBytes(data);
      memory.devices.put(d, data);
      b.resource(Resource.of(d, ResourceType.BLOCK_VOLUME, "mem://" + d));
    }
    return b.build();
  }

  @Test
  void listsTheGroupsWithCheckpointsSorted() {
    Lencap l = open();
    assertEquals(List.of(), l.encapsulations().join());
    l.capture(group("zeta", "z0")).join();
    l.capture(group("alpha", "a0")).join();
    assertEquals(List.of("alpha", "zeta"), l.encapsulations().join());
  }

  @Test
  void aDiffNamesTheChangedExtentOfTheChangedMemberOnly() {
    Lencap l = open();
    Encapsulation g = group("g", "d0", "d1");
    Checkpoint first = l.capture(g).join();
    memory.devices.get("d1")[100_000] ^= 1;
    Checkpoint second = l.capture(g).join();
    CheckpointDiff diff = l.diff("g", first.id(), second.id()).join();
    assertEquals(new CheckpointDiff.Member("d0", List.of(), 0), diff.members().get(0));
    CheckpointDiff.Member d1 = diff.members().get(1);
    assertEquals(1, d1.changes().size(), d1.toString());
    CheckpointDiff.Change change = d1.changes().get(0);
    assertEquals(CheckpointDiff.Kind.CHANGED, change.kind());
    assertEquals(1, change.extents().size());
    CheckpointDiff.Extent e = change.extents().get(0);
    assertTrue(e.offset() <= 100_000 && 100_000 < e.offset() + e.length(), e.toString());
    assertTrue(e.length() < 256 * 1024, "the whole device was reported: " + e);
    assertEquals(e.length(), d1.changedBytes());
    assertEquals(List.of(), l.diff("g", second.id(), second.id()).join().members().stream()
        .flatMap(m -> m.changes().stream()).toList());
  }

  @Test
  void aMemberInOneCheckpointOnlyIsAllAddedOrRemoved() {
    Lencap l = open();
    Checkpoint one = l.capture(group("g", "d0")).join();
    Checkpoint two = l.capture(Encapsulation.builder("g").resource(Resource.of("d9", ResourceType.BLOCK_VOLUME,
        "mem://d0")).build()).join();
    CheckpointDiff diff = l.diff("g", one.id(), two.id()).join();
    assertEquals(List.of("d9", "d0"), diff.members().stream().map(CheckpointDiff.Member::id).toList());
    assertEquals(CheckpointDiff.Kind.ADDED, diff.members().get(0).changes().get(0).kind());
    assertEquals(256 * 1024, diff.members().get(0).changedBytes());
    assertEquals(CheckpointDiff.Kind.REMOVED, diff.members().get(1).changes().get(0).kind());
  }

  @Test
  void aDiffOfAnUnknownCheckpointIsNotFound() {
    Lencap l = open();
    Checkpoint cp = l.capture(group("g", "d0")).join();
    var e = assertThrows(CompletionException.class, () -> l.diff("g", cp.id(), "20990101T000000.000Z-0000").join());
    assertInstanceOf(NotFoundException.class, e.getCause());
  }

  @Test
  void collectDeletesTheChunksOfAManifestDeletedBehindItsBack() throws IOException {
    Lencap l = open();
    Checkpoint cp = l.capture(group("g", "d0")).join();
    assertEquals(0, l.collect().join().deleted());
    Files.delete(store.resolve("checkpoints/g/" + cp.id()));
    List<Path> objects = new java.util.ArrayList<>();
    for (String dir : List.of("chunks", "deltas", "packs")) {
      if (Files.isDirectory(store.resolve(dir))) {
        try (Stream<Path> files = Files.walk(store.resolve(dir))) {
          files.filter(Files::isRegularFile).forEach(objects::add);
        }
      }
    }
    assertFalse(objects.isEmpty());
    for (Path f : objects) {
      Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(3600)));
    }
    assertEquals(objects.size(), l.collect().join().deleted());
    assertTrue(objects.stream().noneMatch(Files::exists));
  }
}
