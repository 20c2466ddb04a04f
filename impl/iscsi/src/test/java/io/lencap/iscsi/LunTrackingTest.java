package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StorageSnapshot.Extent;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** When {@link LunTracking} trusts the storage's diff, and every reason it reads the LUN whole instead. */
class LunTrackingTest {
  static final int CHUNK = 64 << 10;
  static final long SIZE = 10L * CHUNK;
  static final String PARENT = "20261202T000000.000Z-aaaa";
  static final String BASE = StorageSnapshot.imageName(PARENT);
  static final String NOW = StorageSnapshot.imageName("20261202T010000.000Z-bbbb");
  static final Resource LUN = Resource.builder("lun").type("block")
      .locator(URI.create("iscsi://127.0.0.1:3260/iqn.2026-11.io.lencap.test:t/1"))
      .property(LunSpec.CHUNK_SIZE, Integer.toString(CHUNK)).build();
  static final LunSpec SPEC = LunSpec.of(LUN);

  /** A storage that answers {@code changed} from {@code BASE} only, with the given extents. */
  static StorageSnapshot storage(Optional<List<Extent>> answer) {
    return new StorageSnapshot() {
      @Override
      public boolean supports(Resource resource) {
        return true;
      }

      @Override
      public URI take(Resource resource, String name) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void delete(Resource resource, String name) {}

      @Override
      public Optional<List<Extent>> changed(Resource resource, String base, String name) {
        return base.equals(BASE) && name.equals(NOW) ? answer : Optional.empty();
      }
    };
  }

  /** A parent as a capture that kept its snapshot records it, changed by {@code edit}. */
  static StoredState parent(long size, int chunk, Consumer<Map<String, String>> edit) throws Exception {
    MemoryState state = new MemoryState(new MemoryState.Chunks(), PARENT);
    Map<String, String> attributes = new HashMap<>(Map.of(LunDriver.ATTR_BYTES, Long.toString(SIZE),
        LunDriver.ATTR_BLOCK_SIZE, "512", LunTracking.LOCATOR, SPEC.address().toUri().toString(), LunTracking.KEPT,
        BASE));
    edit.accept(attributes);
    attributes.forEach(state::attribute);
    try (EntryWriter w = state.create(LunDriver.ENTRY, EntryKind.FILE, Map.of(), Chunking.fixed(chunk))) {
      w.write(ByteBuffer.allocate((int) size));
    }
    return state.seal();
  }

  static LunTracking.Plan plan(Optional<StoredState> parent, Optional<List<Extent>> answer) {
    CaptureContext ctx = IscsiLunIT.Phases.captureContext(LUN, CaptureMode.NON_BLOCKING, "now", parent,
        new MemoryState(new MemoryState.Chunks(), "now"));
    return LunTracking.plan(ctx, storage(answer), SPEC, NOW, SIZE, 512);
  }

  static String whyWhole(StoredState parent, Optional<List<Extent>> answer) {
    LunTracking.Plan p = plan(Optional.of(parent), answer);
    assertTrue(p.whole(), "read whole");
    return p.why();
  }

  static final Optional<List<Extent>> SOME = Optional.of(List.of(new Extent(100, 10)));

  @Test
  void aProvenDiffReadsTheChangedRangesInWholeBlocksOfTheLun() throws Exception {
    LunTracking.Plan p = plan(Optional.of(parent(SIZE, CHUNK, a -> {})), Optional.of(List.of(new Extent(0, 1),
        new Extent(100, 10), new Extent(3L * CHUNK - 1, 2), new Extent(3L * CHUNK + 511, 2), new Extent(9L * CHUNK,
        CHUNK))));
    assertEquals(List.of(new Extent(0, 512), new Extent(3L * CHUNK - 512, 1024 + 512), new Extent(9L * CHUNK, CHUNK)),
        p.changed(), "two changes in one block read it once; changes in adjacent blocks read together");
    assertEquals(10, p.parent().orElseThrow().chunks().size());
    assertEquals(List.of(), plan(Optional.of(parent(SIZE, CHUNK, a -> {})), Optional.of(List.of())).changed(),
        "nothing changed: every chunk is the parent's");
  }

  @Test
  void everyUnprovenDiffReadsWholeSayingWhy() throws Exception {
    assertEquals("no parent checkpoint", plan(Optional.empty(), SOME).why());
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> a.remove(LunTracking.KEPT)), SOME).contains("kept no storage snapshot"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> a.put(LunTracking.KEPT, "lencap-older")), SOME)
        .contains("not the parent's own cut"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> a.put(LunTracking.LOCATOR, "iscsi://other:3260/iqn.x/1")), SOME)
        .contains("another LUN"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> a.put(LunDriver.ATTR_BYTES, "1")), SOME).contains("size"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> a.put(LunDriver.ATTR_BLOCK_SIZE, "4096")), SOME).contains("size"));
    assertTrue(whyWhole(parent(SIZE, CHUNK * 2, a -> {}), SOME).contains("whole " + CHUNK + "-byte chunks"));
    assertTrue(whyWhole(parent(SIZE - CHUNK, CHUNK, a -> {}), SOME).contains("whole " + CHUNK + "-byte chunks"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> {}), Optional.empty()).contains("cannot tell what changed since "
        + "snapshot " + BASE));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> {}), Optional.of(List.of(new Extent(SIZE - 1, 2))))
        .contains("beyond the LUN"));
    assertTrue(whyWhole(parent(SIZE, CHUNK, a -> {}), Optional.of(List.of(new Extent(100, 10), new Extent(50, 1))))
        .contains("before the end of the previous one"));
  }

  @Test
  void previousNamesTheParentsKeptImageAndWhatTheParentMeantToDelete() throws Exception {
    assertEquals(List.of(), List.copyOf(LunTracking.previous(Optional.empty())));
    assertEquals(List.of(BASE, "lencap-older"), List.copyOf(LunTracking.previous(Optional.of(
        parent(SIZE, CHUNK, a -> a.put(LunTracking.PREVIOUS, "lencap-older"))))));
  }

  /** The names come from the store and decide deletes: a planted name is never deleted. */
  @Test
  void previousTakesOnlyNamesADriverGives() throws Exception {
    assertEquals(List.of(), List.copyOf(LunTracking.previous(Optional.of(parent(SIZE, CHUNK, a -> {
      a.put(LunTracking.KEPT, "lencap-not-the-parents-own");
      a.put(LunTracking.PREVIOUS, "production-gold-image");
    })))));
  }

  @Test
  void trackingIsDiffOrNone() {
    assertTrue(LunTracking.enabled(LUN));
    assertEquals(false, LunTracking.enabled(LUN.toBuilder().property(LunTracking.PROPERTY, "none").build()));
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> LunTracking.enabled(LUN.toBuilder().property(LunTracking.PROPERTY, "bitmap").build()));
    assertTrue(e.getMessage().contains("resources[lun].properties.tracking"), e.getMessage());
  }
}
