package io.lencap.nfs;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StoredState;
import io.lencap.tree.ManifestCheck;
import io.lencap.tree.TreeCapture;
import io.lencap.tree.TreeRestore;
import java.net.URI;
import java.time.Clock;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One export through one capture or restore: the tree engine ({@link TreeCapture}, {@link ManifestCheck},
 * {@link TreeRestore}) over an {@link NfsSession}.
 *
 * <p>Non-blocking capture: {@link #prepare} pre-copies the tree while the group runs; {@link #quiesce} has
 * nothing to stop (the group's writers are quiesced before their storage); {@link #cut} makes the final
 * pass (metadata of the whole tree, content of what changed since the pre-copy), after which the state is
 * complete and detached, so the cut is live and {@link #transfer} has nothing left. With a
 * {@link StorageSnapshot} the cut takes a snapshot instead and the transfer reads it. Blocking capture:
 * the whole copy runs in {@link #transfer} while quiesced.
 */
final class NfsDriver implements ResourceDriver {
  private static final Logger log = LoggerFactory.getLogger(NfsDriver.class);
  private static final AtomicInteger POOLS = new AtomicInteger();
  static final String SNAPSHOT = "snapshot";
  static final String SNAPSHOT_LOCATOR = "snapshot.locator";
  /**
   * How recent a change may be for a copy to be trusted without reading it again: file times tick coarsely
   * and the server's clock may differ from ours.
   */
  static final long RACY_MILLIS = 2_000;

  private final Resource resource;
  private final NfsLocator locator;
  private final StorageSnapshot snapshots;
  /**
   * Files and directories worked on at once: each small file costs a few round trips, so calls in flight, not the
   * cores, bound a tree of them (20,000 files of 1-8 KiB on loopback: capture 14.6, 14.9, 18.9, 18.1 MiB/s and
   * restore 5.9, 6.7, 7.8, 9.2 MiB/s with 4, 8, 16, 32). The store bounds the bytes in flight whatever this is.
   */
  static final String DEFAULT_THREADS = "16";

  private final int threads;
  private final Clock clock;
  private ExecutorService pool;
  private NfsSession session;
  private TreeCapture<byte[]> capture;
  private ManifestCheck.Plan plan;
  private volatile TreeCapture.Pass lastPass;
  private volatile TreeRestore.Result lastRestore;

  NfsDriver(Resource resource, NfsLocator locator, StorageSnapshot snapshots, Clock clock) {
    this.clock = clock;
    this.resource = resource;
    this.locator = locator;
    this.snapshots = snapshots;
    String t = resource.property("threads").orElse(DEFAULT_THREADS);
    try {
      this.threads = Integer.parseInt(t);
      if (threads < 1 || threads > 64) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new InvalidSpecException("resources[" + resource.id() + "].properties.threads",
          "must be an integer from 1 to 64, was '" + t + "'");
    }
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.LIVE_CUT, Capability.CHANGE_TRACKING, Capability.PRE_COPY,
        Capability.RESTORE_ELSEWHERE, Capability.DIFFERENTIAL_RESTORE);
  }

  @Override
  public void prepare(CaptureContext ctx) throws Exception {
    NfsSession s = session();
    capture = new TreeCapture<>(ctx.parent(), s.getattr(s.root(), "").fsid(), clock, RACY_MILLIS);
    if (ctx.mode() == CaptureMode.NON_BLOCKING && snapshots == null) {
      lastPass = capture.precopy(s, ctx, pool());
      log.debug("{}: pre-copy {}", s.where(), lastPass);
    }
  }

  @Override
  public void quiesce() {
    // Nothing to stop on a NAS: the group's writers (VMs) are quiesced before the storage they write to.
  }

  @Override
  public Cut cut(CaptureContext ctx) throws Exception {
    if (ctx.mode() == CaptureMode.BLOCKING) {
      return Cut.inPlace();
    }
    if (snapshots != null) {
      String name = StorageSnapshot.imageName(ctx.checkpointId());
      URI at = snapshots.take(resource, name);
      ctx.method("storage-snapshot");
      return Cut.live(Map.of(SNAPSHOT, name, SNAPSHOT_LOCATOR, at.toString()));
    }
    TreeCapture.Pass p = capture.pass(session(), ctx, pool());
    lastPass = p;
    ctx.method("pre-copy+final-pass");
    ctx.note("final pass in the pause: " + p.entries() + " entries listed in " + p.listMillis() + " ms, "
        + p.changed() + " changed, " + p.filesRead() + " files (" + p.bytesRead() + " bytes) read, "
        + p.totalMillis() + " ms in all");
    return Cut.live(Map.of());
  }

  @Override
  public void resume() {
    // Nothing was stopped.
  }

  @Override
  public void transfer(Cut cut, CaptureContext ctx) throws Exception {
    String snapshot = cut.artefacts().get(SNAPSHOT_LOCATOR);
    if (snapshot != null) {
      Resource view = Resource.builder(resource.id()).type(resource.type()).locator(snapshot).build();
      NfsSession s = NfsSession.open(NfsLocator.of(view));
      lastPass = new TreeCapture<byte[]>(ctx.parent(), s.getattr(s.root(), "").fsid(), clock, RACY_MILLIS)
          .pass(s, ctx, pool());
    } else if (!cut.live()) {
      ctx.method("copy-in-pause");
      lastPass = capture.pass(session(), ctx, pool());
    }
    // A live cut without a snapshot already holds the whole state.
  }

  @Override
  public void release(Cut cut) throws Exception {
    String name = cut.artefacts().get(SNAPSHOT);
    if (name != null && snapshots != null) {
      snapshots.delete(resource, name);
    } else if (name != null) {
      log.warn("{}: cannot delete NAS snapshot {}: no storage snapshot supports this resource any more",
          locator.describe(), name);
    }
  }

  @Override
  public void prepareRestore(RestoreContext ctx) throws Exception {
    plan = ManifestCheck.check(ctx.state(), resource.id());
    session();
  }

  /** The manifest check a restore runs first: a capture that would not restore fails instead of committing. */
  @Override
  public void validate(StoredState state) {
    ManifestCheck.check(state, resource.id());
  }

  @Override
  public void restore(RestoreContext ctx) throws Exception {
    if (plan == null) {
      prepareRestore(ctx);
    }
    lastRestore = new TreeRestore<>(session(), plan, ctx.state(), ctx, pool()).run();
    log.debug("{}: restored {}", session.where(), lastRestore);
  }

  @Override
  public <T> Optional<T> extension(Class<T> type) {
    return type == StorageSnapshot.class && snapshots != null ? Optional.of(type.cast(snapshots)) : Optional.empty();
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  /** What the last pass did (tests and the benchmark read it). */
  TreeCapture.Pass lastPass() {
    return lastPass;
  }

  TreeRestore.Result lastRestore() {
    return lastRestore;
  }

  private synchronized NfsSession session() {
    if (session == null) {
      session = NfsSession.open(locator);
    }
    return session;
  }

  private synchronized ExecutorService pool() {
    if (pool == null) {
      int id = POOLS.incrementAndGet();
      AtomicInteger n = new AtomicInteger();
      pool = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "lencap-nfs-" + id + "-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }
    return pool;
  }
}
