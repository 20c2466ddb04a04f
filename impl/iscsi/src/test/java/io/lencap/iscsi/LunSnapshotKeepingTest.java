package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
  static final MemoryState.Chunks CHUNKS = new MemoryState.Chunks();
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

  /** Records deletes; every image is the LUN itself; a diff from an image not deleted: the first 4 KiB changed. */
  static final class Storage implements StorageSnapshot {
    final List<String> deleted = new CopyOnWriteArrayList<>();
    final Set<String> gone = ConcurrentHashMap.newKeySet();

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
      return gone.contains(base) ? Optional.empty() : Optional.of(List.of(new Extent(0, 4096)));
    }
  }

  record Captured(StoredState state, TckCaptureContext ctx) {}

  /** One capture of {@code id} through release; {@code abort} cancels it before the release, as the engine does. */
  Captured capture(Storage storage, String id, Optional<StoredState> parent, boolean abort) throws Exception {
    MemoryState sink = new MemoryState(CHUNKS, id);
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
    assertEquals(Integer.toString(256 << 10), b.state().attributes().get(LunTracking.READ), "one chunk read");

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
    MemoryState sink = new MemoryState(CHUNKS, "b");
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
}
