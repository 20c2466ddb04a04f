package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Phase;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.ForwardingDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a restoring driver can ask of the engine besides the state it restores: another checkpoint's, and notes. */
class RestoreContextTest {
  @TempDir
  Path store;

  final MemoryProvider memory = new MemoryProvider();
  final List<LencapEvent.PhaseChanged> phases = new CopyOnWriteArrayList<>();
  volatile Consumer<RestoreContext> onRestore = c -> {};
  Lencap lencap;

  Lencap open() {
    EngineSettings settings = new EngineSettings(store.toUri(), Map.of(), Map.of(), Optional.empty(),
        List.of(e -> {
          if (e instanceof LencapEvent.PhaseChanged p) {
            phases.add(p);
          }
        }), Clock.systemUTC(), Optional.empty());
    lencap = Engine.open(settings, new ProviderRegistry(List.of(new WrappedProvider(memory, d -> new ForwardingDriver(d) {
      @Override
      public void restore(RestoreContext c) throws Exception {
        onRestore.accept(c);
        delegate.restore(c);
      }
    }))));
    return lencap;
  }

  @AfterEach
  void close() {
    if (lencap != null) {
      lencap.close();
    }
  }

  Encapsulation group() {
    memory.devices.put("d0", new byte[64 * 1024]);
    return Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0")).build();
  }

  @Test
  void aDriverReadsItsMemberInAnotherCheckpointUntilItIsDeleted() {
    Lencap l = open();
    Encapsulation g = group();
    Checkpoint first = l.capture(g).join();
    memory.devices.get("d0")[70] = 7;
    Checkpoint second = l.capture(g).join();
    List<Optional<StoredState>> seen = new CopyOnWriteArrayList<>();
    onRestore = c -> {
      seen.add(c.stateIn(first.id()));
      seen.add(c.stateIn(second.id()));
      seen.add(c.stateIn("20000101T000000Z-0000"));
      seen.add(c.stateIn("../" + first.id()));
    };
    l.restore(g, second.id()).join();
    StoredState earlier = seen.get(0).orElseThrow();
    StoredState restored = seen.get(1).orElseThrow();
    assertEquals(first.id(), earlier.checkpointId());
    assertEquals(second.id(), restored.checkpointId());
    assertNotEquals(earlier.entry("data").orElseThrow().chunks(), restored.entry("data").orElseThrow().chunks());
    assertEquals(Optional.empty(), seen.get(2), "no such checkpoint");
    assertEquals(Optional.empty(), seen.get(3), "not an id");

    l.delete("g", first.id()).join();
    seen.clear();
    l.restore(g, second.id()).join();
    assertEquals(Optional.empty(), seen.get(0), "deleted");
  }

  @Test
  void zeroChunksAreKnownByTheirIdsAndReadAsZeros() throws Exception {
    Lencap l = open();
    byte[] device = new byte[16 * 4096]; // 4 KiB chunks: the 3rd and the last hold a byte, the others are zeros
    device[2 * 4096 + 5] = 1;
    device[device.length - 1] = 2;
    memory.devices.put("d0", device);
    Encapsulation g = Encapsulation.builder("g").resource(Resource.of("m0", ResourceType.BLOCK_VOLUME, "mem://d0"))
        .build();
    Checkpoint cp = l.capture(g).join();
    byte[] changed = device.clone();
    Arrays.fill(changed, (byte) 9);
    memory.devices.put("d0", changed);
    List<Boolean> zero = new CopyOnWriteArrayList<>();
    List<Boolean> readAsZeros = new CopyOnWriteArrayList<>();
    onRestore = c -> {
      for (ChunkRef ref : c.state().entry("data").orElseThrow().chunks()) {
        zero.add(c.state().isZero(ref));
        if (c.state().isZero(ref)) {
          try {
            ByteBuffer b = c.state().read(ref);
            readAsZeros.add(b.remaining() == ref.length() && b.equals(ByteBuffer.allocate(ref.length())));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
    };
    l.restore(g, cp.id()).join();
    List<Boolean> expected = new ArrayList<>(Collections.nCopies(16, true));
    expected.set(2, false);
    expected.set(15, false);
    assertEquals(expected, zero);
    assertEquals(Collections.nCopies(14, true), readAsZeros);
    assertArrayEquals(device, memory.devices.get("d0"), "restored whole, the zero chunks included");
  }

  @Test
  void notesAreTheDetailOfTheRestorePhaseCompleted() {
    Lencap l = open();
    Encapsulation g = group();
    Checkpoint cp = l.capture(g).join();
    phases.clear();
    onRestore = c -> {
      c.note("wrote 3 blocks");
      c.note("verified them");
    };
    l.restore(g, cp.id()).join();
    LencapEvent.PhaseChanged done = phases.stream().filter(p -> p.phase() == Phase.RESTORE
        && p.status() == LencapEvent.Status.COMPLETED && "m0".equals(p.memberId())).findFirst().orElseThrow();
    assertEquals("wrote 3 blocks; verified them", done.detail());
    assertTrue(phases.stream().filter(p -> p.phase() == Phase.RESUME).allMatch(p -> p.detail() == null));

    phases.clear();
    onRestore = c -> {};
    l.restore(g, cp.id()).join();
    assertNull(phases.stream().filter(p -> p.phase() == Phase.RESTORE && p.status() == LencapEvent.Status.COMPLETED)
        .findFirst().orElseThrow().detail(), "no notes, no detail");
  }
}
