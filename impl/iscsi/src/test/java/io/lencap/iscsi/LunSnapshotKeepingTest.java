package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StorageSnapshot.Extent;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which storage images a LUN capture keeps and deletes (jSCSI's in-process target; the storage is a fake that
 * records its calls and serves the LUN itself as every image): a committed capture keeps its own and deletes its
 * parent's, an aborted one and crash repair delete their own, and a commit after a repair deletes what the
 * repaired capture's release would have.
 */
class LunSnapshotKeepingTest {
  static final long SIZE = 1L << 20;

  @TempDir
  static Path dir;
  static JscsiTarget target;
  static Resource lun;
  /** This test's chunks. */
  final MemoryState.Chunks chunks = new MemoryState.Chunks();
  /** This test's Lencap work directory, where the driver remembers the images it took. */
  Path work;

  @BeforeEach
  void newWorkDirectory() throws Exception {
    work = Files.createTempDirectory(dir, "work");
  }

  @BeforeAll
  static void start() throws Exception {
    target = new JscsiTarget(dir.resolve("lun.img"), SIZE);
    lun = Resource.builder("lun").type("block").locator(target.locator(0)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    target.close();
  }

  /** Records deletes; every image is the LUN itself; a diff from an image not deleted: {@code changes}. */
  static final class Storage implements StorageSnapshot {
    final List<String> deleted = new CopyOnWriteArrayList<>();
    final Set<String> gone = ConcurrentHashMap.newKeySet();
    volatile List<Extent> changes = List.of(new Extent(0, 4096));

    @Override
    public boolean supports(Resource resource) {
      return true;
    }

    @Override
    public URI take(Resource resource, String name) {
      return resource.locator();
    }

    @Override
    public void delete(Resource resource, String name) {
      deleted.add(name);
      gone.add(name);
    }

    @Override
    public boolean tellsChanges(Resource resource) {
      return true;
    }

    @Override
    public Optional<List<Extent>> changed(Resource resource, String base, String name) {
      return gone.contains(base) ? Optional.empty() : Optional.of(changes);
    }
  }

  record Captured(StoredState state, TckCaptureContext ctx) {}

  /** One capture of {@code id} through release; {@code abort} cancels it before the release, as the engine does. */
  Captured capture(Storage storage, String id, Optional<StoredState> parent, boolean abort) throws Exception {
    MemoryState sink = new MemoryState(chunks, id);
    TckCaptureContext ctx = (TckCaptureContext) IscsiLunIT.Phases.captureContext(lun, CaptureMode.NON_BLOCKING, id,
        parent, sink);
    try (ResourceDriver d = new LunDriver(lun, LunSpec.of(lun), Optional.of(storage), work)) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      if (abort) {
        ctx.cancel();
      }
      d.release(cut);
    }
    return new Captured(sink.seal(), ctx);
  }

  @Test
  void aCommitKeepsItsImageAndDeletesItsParents() throws Exception {
    Storage storage = new Storage();
    Captured a = capture(storage, "a", Optional.empty(), false);
    assertEquals(List.of(), storage.deleted, "the first image is kept");
    assertEquals("lencap-a", a.state().attributes().get(LunTracking.KEPT));
    assertTrue(a.ctx().notes().contains("LUN read whole (" + SIZE + " bytes): no parent checkpoint"),
        a.ctx().notes().toString());

    Captured b = capture(storage, "b", Optional.of(a.state()), false);
    assertEquals(List.of("lencap-a"), storage.deleted, "the parent's image goes when the child commits");
    assertEquals("lencap-a", b.state().attributes().get(LunTracking.PREVIOUS));
    assertEquals("4096", b.state().attributes().get(LunTracking.READ), "only the 4 KiB the diff reports");

    storage.deleted.clear();
    capture(storage, "c", Optional.of(b.state()), true);
    assertEquals(List.of("lencap-c"), storage.deleted, "an aborted capture deletes its own image, keeps its parent's");
  }

  @Test
  void deletingTheNewestCheckpointLeavesItsImageOnlyUntilTheNextCommit() throws Exception {
    Storage storage = new Storage();
    Captured a = capture(storage, "a", Optional.empty(), false);
    capture(storage, "b", Optional.of(a.state()), false); // then deleted: the next capture's parent is a
    storage.deleted.clear();
    Captured c = capture(storage, "c", Optional.of(a.state()), false);
    assertTrue(c.ctx().notes().contains("LUN read whole (" + SIZE + " bytes): the storage cannot tell what changed "
        + "since snapshot lencap-a (deleted, its image replaced, or no diff)"), c.ctx().notes().toString());
    assertEquals(List.of("lencap-a", "lencap-b"), storage.deleted, "b's image, known from the work directory");
  }

  @Test
  void crashRepairDeletesTheImageAndTheNextCommitWhatTheRepairedReleaseWould() throws Exception {
    Storage storage = new Storage();
    Captured a = capture(storage, "a", Optional.empty(), false);
    // b committed, then its process died before its release: repair releases its cut on a new driver.
    MemoryState sink = new MemoryState(chunks, "b");
    TckCaptureContext ctx = (TckCaptureContext) IscsiLunIT.Phases.captureContext(lun, CaptureMode.NON_BLOCKING, "b",
        Optional.of(a.state()), sink);
    Cut cut;
    try (ResourceDriver d = new LunDriver(lun, LunSpec.of(lun), Optional.of(storage), work)) {
      d.prepare(ctx);
      cut = d.cut(ctx);
      d.transfer(cut, ctx);
    }
    StoredState b = sink.seal();
    try (ResourceDriver repair = new LunDriver(lun, LunSpec.of(lun), Optional.of(storage), work)) {
      repair.release(Cut.live(cut.artefacts()));
    }
    assertEquals(List.of("lencap-b"), storage.deleted, "repair cannot know the capture committed: it deletes");

    storage.deleted.clear();
    Captured c = capture(storage, "c", Optional.of(b), false);
    assertTrue(c.ctx().notes().contains("LUN read whole (" + SIZE + " bytes): the storage cannot tell what changed "
        + "since snapshot lencap-b (deleted, its image replaced, or no diff)"), c.ctx().notes().toString());
    assertEquals(List.of("lencap-a", "lencap-b"), storage.deleted, "the next commit deletes what b's would have");
  }

  @Test
  void scatteredChangesAreReadOverTheParentsChunksAndACorruptOneIsReadWhole() throws Exception {
    Storage storage = new Storage();
    byte[] lunBytes = new byte[(int) SIZE];
    new Random(7).nextBytes(lunBytes);
    write(0, lunBytes);
    Captured a = capture(storage, "a", Optional.empty(), false);
    // 4 KiB at two places in the first chunk, 512 bytes across the second's end, the third chunk whole.
    int chunk = 256 << 10;
    List<Extent> changes = List.of(new Extent(4096, 4096), new Extent(65536, 4096), new Extent(2L * chunk - 512,
        1024), new Extent(2L * chunk + 512, chunk - 512));
    for (Extent e : changes) {
      byte[] b = new byte[(int) e.length()];
      new Random(e.offset()).nextBytes(b);
      System.arraycopy(b, 0, lunBytes, (int) e.offset(), b.length);
      write(e.offset(), b);
    }
    storage.changes = changes;
    Captured b = capture(storage, "b", Optional.of(a.state()), false);
    assertArrayEquals(lunBytes, content(b.state()), "the parent's chunks with the changed ranges over them");
    assertEquals(Long.toString(changes.stream().mapToLong(Extent::length).sum()),
        b.state().attributes().get(LunTracking.READ), "the changed ranges and nothing else");

    chunks.corrupt(b.state().entry(LunDriver.ENTRY).orElseThrow().chunks().get(0).id());
    byte[] again = new byte[512];
    new Random(8).nextBytes(again);
    System.arraycopy(again, 0, lunBytes, 4096, again.length);
    write(4096, again);
    // The diff may report more than changed: two more ranges, whose READs are in flight as the first chunk is read.
    storage.changes = List.of(new Extent(4096, 512), new Extent(chunk + 8192, 4096), new Extent(3L * chunk, 4096));
    Captured c = capture(storage, "c", Optional.of(b.state()), false);
    assertArrayEquals(lunBytes, content(c.state()), "a corrupt parent chunk is not patched");
    assertEquals(Long.toString(512 + chunk + 2 * 4096), c.state().attributes().get(LunTracking.READ),
        "its chunk read whole");
    assertTrue(c.ctx().notes().contains("1 of the parent's chunks failed verification: their chunks were read whole"),
        c.ctx().notes().toString());
  }

  static void write(long offset, byte[] bytes) throws Exception {
    try (IscsiSession s = LunSpec.of(lun).connect()) {
      s.write(offset / s.blockSize(), ByteBuffer.wrap(bytes));
    }
  }

  static byte[] content(StoredState state) throws Exception {
    try (InputStream in = state.open(state.entry(LunDriver.ENTRY).orElseThrow())) {
      return in.readAllBytes();
    }
  }
}
