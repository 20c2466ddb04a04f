package io.lencap.localdir;

import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.tree.ManifestCheck;
import io.lencap.tree.StoredNames;
import io.lencap.tree.TreeCapture;
import io.lencap.tree.TreeRestore;
import io.lencap.tree.UnsafeManifestException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One local directory through one capture or restore: the tree engine over {@link LocalFiles}, plus the
 * quiesce marker; see {@link LocalDirectoryProvider}.
 */
final class LocalDirectoryDriver implements ResourceDriver {
  private static final Logger LOG = LoggerFactory.getLogger(LocalDirectoryDriver.class);
  static final String METHOD = "pre-copy+final-pass";
  /**
   * A copy is trusted without reading it again only when the file's times are this much older than the
   * copy: well above a Linux tick (1-10 ms) on file systems with nanosecond timestamps.
   */
  static final long RACY_MILLIS = 50;
  private static final AtomicInteger POOLS = new AtomicInteger();

  private final Resource resource;
  private final Path root;
  private final LocalFiles files;
  private final int threads;
  private final Clock clock;
  private @Nullable ExecutorService pool;
  private @Nullable CaptureContext capturing;
  private @Nullable TreeCapture<String> capture;
  private @Nullable TreeRestore<String> restore;
  private volatile TreeCapture.@Nullable Pass lastPass;
  private volatile TreeRestore.@Nullable Result lastRestore;

  LocalDirectoryDriver(Resource resource, Path root, boolean fsync, int threads) {
    // The wall clock, not the context's: it is compared with the file system's times.
    this(resource, root, fsync, threads, Clock.systemUTC());
  }

  LocalDirectoryDriver(Resource resource, Path root, boolean fsync, int threads, Clock clock) {
    this.clock = clock;
    this.resource = resource;
    this.root = root;
    this.threads = threads;
    this.files = new LocalFiles(root, LocalDirectoryProvider.QUIESCE_MARKER, fsync);
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.PRE_COPY, Capability.CHANGE_TRACKING, Capability.RESTORE_ELSEWHERE,
        Capability.DIFFERENTIAL_RESTORE);
  }

  // ---------------------------------------------------------------- capture

  /** Checks the tree, then copies it while it keeps changing. */
  @Override
  public void prepare(CaptureContext context) throws Exception {
    capturing = context;
    requireReadableDirectory();
    capture = new TreeCapture<>(context.parent(), files.getattr("", "").fsid(), clock, RACY_MILLIS);
    lastPass = capture.precopy(files, context, pool());
    LOG.debug("{}: pre-copy {}", resource.id(), lastPass);
  }

  /**
   * Asks cooperating writers to pause by creating the marker file. Idempotent; the marker outlives this
   * process, so a crash leaves the tree quiesced until crash repair calls {@link #resume()}.
   */
  @Override
  public void quiesce() throws IOException {
    String by = capturing == null ? ""
        : " for checkpoint " + capturing.encapsulation() + "/" + capturing.checkpointId();
    String text = "Lencap quiesced this tree" + by + " (pid " + ProcessHandle.current().pid() + ") at "
        + Instant.now() + ".\nWriters: do not start a write while this file exists.\n";
    // NOFOLLOW: a symlink planted under the marker's name must not redirect our write.
    Files.writeString(marker(), text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The final pass, inside the quiesce window: metadata of the whole tree, content of what changed since
   * the pre-copy. The state is then complete in the sink, so the cut is live with nothing left for
   * {@link #transfer}.
   */
  @Override
  public Cut cut(CaptureContext context) throws Exception {
    context.method(METHOD);
    TreeCapture<String> pass = capture;
    if (pass == null) {
      throw new IllegalStateException("cut before prepare");
    }
    TreeCapture.Pass p = pass.pass(files, context, pool());
    lastPass = p;
    context.note("final pass in the pause: " + p.entries() + " entries listed in " + p.listMillis() + " ms, "
        + p.changed() + " changed, " + p.filesRead() + " files (" + p.bytesRead() + " bytes) read, "
        + p.totalMillis() + " ms in all");
    return Cut.live(Map.of());
  }

  /** Removes the marker. Idempotent, and all crash repair needs: it works on a fresh driver. */
  @Override
  public void resume() throws IOException {
    Files.deleteIfExists(marker());
  }

  /** Nothing to do: the final pass left the whole state in the sink. */
  @Override
  public void transfer(Cut cut, CaptureContext context) {}

  /** Nothing to clean up: the cut creates no artefact. */
  @Override
  public void release(Cut cut) {}

  // ---------------------------------------------------------------- restore

  /**
   * Checks the manifest (the engine's check, the marker's name, names this JVM can carry), checks that the
   * target directory exists or can be created, and verifies every chunk, so that a corrupt or unsafe
   * checkpoint fails here, before any member of the group is written.
   */
  @Override
  public void prepareRestore(RestoreContext context) throws Exception {
    ManifestCheck.Plan plan = check(context.state());
    for (StoredEntry e : plan.entries()) {
      String target = e.attributes().get("target");
      if (!files.nameable(e.path()) || target != null && !files.nameable(target)) {
        throw new IOException("cannot restore tree " + resource.id() + " onto " + root + ": '"
            + StoredNames.printable(e.path()) + "' has a name this JVM cannot carry in its file name encoding "
            + "(sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding") + "); run under a UTF-8 locale");
      }
    }
    Path existing = root;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
      throw new IOException("cannot restore tree " + resource.id() + " onto " + root + ": "
          + (existing == null ? "no ancestor exists" : existing + " is not a writable directory"));
    }
    restore = new TreeRestore<>(files, plan, context.state(), context, pool());
    restore.verifyChunks();
  }

  /** The check {@link #prepareRestore} starts with: a capture its restore would refuse fails instead. */
  @Override
  public void validate(StoredState state) {
    check(state);
  }

  @Override
  public void restore(RestoreContext context) throws Exception {
    if (restore == null) {
      prepareRestore(context);
    }
    TreeRestore<String> plan = java.util.Objects.requireNonNull(restore, "prepareRestore sets it");
    Files.createDirectories(root);
    TreeRestore.Result r = plan.run();
    lastRestore = r;
    LOG.info("{}: restored {} from {}: {} files written ({} bytes), {} unchanged, {} entries removed", resource.id(),
        root, context.checkpointId(), r.filesWritten(), r.bytesWritten(), r.filesUnchanged(), r.removed());
  }

  private ManifestCheck.Plan check(StoredState state) {
    ManifestCheck.Plan plan = ManifestCheck.check(state, resource.id());
    if (plan.byPath().containsKey(LocalDirectoryProvider.QUIESCE_MARKER)) {
      throw new UnsafeManifestException(state.checkpointId(), resource.id(), "entry '"
          + LocalDirectoryProvider.QUIESCE_MARKER + "' is the quiesce marker, which is never part of a tree");
    }
    return plan;
  }

  // ---------------------------------------------------------------- end of the operation

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  /** What the last pass did (tests read it). */
  TreeCapture.@Nullable Pass lastPass() {
    return lastPass;
  }

  /** What the last restore did (tests read it). */
  TreeRestore.@Nullable Result lastRestore() {
    return lastRestore;
  }

  private void requireReadableDirectory() throws IOException {
    if (!Files.isDirectory(root)) {
      throw new NoSuchFileException(root.toString(), null, "tree " + resource.id() + " is not a directory");
    }
    if (!Files.isReadable(root) || !Files.isExecutable(root)) {
      throw new AccessDeniedException(root.toString(), null, "tree " + resource.id() + " is not readable");
    }
  }

  private synchronized ExecutorService pool() {
    if (pool == null) {
      int id = POOLS.incrementAndGet();
      AtomicInteger n = new AtomicInteger();
      pool = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "lencap-localdir-" + id + "-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }
    return pool;
  }

  private Path marker() {
    return root.resolve(LocalDirectoryProvider.QUIESCE_MARKER);
  }
}
