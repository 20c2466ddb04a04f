package io.lencap.samples.tree;

import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.Health;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captures and restores one directory tree: pre-copy, marker quiesce, final pass, differential restore;
 * see {@link DirectoryTreeProvider}.
 */
final class DirectoryTreeDriver implements ResourceDriver {
  private static final Logger LOG = LoggerFactory.getLogger(DirectoryTreeDriver.class);
  static final String METHOD = "pre-copy+final-pass";
  static final String TARGET = "target";
  /** Files are chunked by content, so an insertion shifts only the chunks around it. */
  private static final Chunking CHUNKING = Chunking.contentDefined();
  private static final int READ_BUFFER = 256 * 1024;
  /** Copies of one file tried in the final pass before it is kept as it is, with a note. */
  private static final int FINAL_ATTEMPTS = 3;
  /** Files copied at once. */
  private static final int COPIERS = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));

  private final Resource resource;
  private final Path root;
  private final boolean fsync;
  /** The copy of each regular file now in the sink, by relative path. */
  private final Map<String, Copy> copied = new ConcurrentHashMap<>();
  private CaptureContext capture;

  /** A file's copy: the stamp it was taken under, and whether it surely holds that content. */
  private record Copy(FileStamp stamp, boolean trusted) {}

  DirectoryTreeDriver(Resource resource, Path root, boolean fsync) {
    this.resource = resource;
    this.root = root;
    this.fsync = fsync;
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.PRE_COPY, Capability.CHANGE_TRACKING, Capability.RESTORE_ELSEWHERE,
        Capability.DIFFERENTIAL_RESTORE);
  }

  // ---------------------------------------------------------------- capture

  /** Checks the tree, then copies every regular file while the tree keeps changing. */
  @Override
  public void prepare(CaptureContext context) throws IOException {
    capture = context;
    requireReadableDirectory();
    Map<String, StoredEntry> parent = new HashMap<>();
    context.parent().map(StoredState::entries).orElse(List.of()).forEach(e -> parent.put(e.path(), e));
    TreeScan scan = TreeScan.of(root);
    StateSink sink = context.state();
    sink.expectBytes(scan.fileBytes());
    List<Map.Entry<String, PosixFileAttributes>> toCopy = new ArrayList<>();
    for (Map.Entry<String, PosixFileAttributes> node : scan.nodes().entrySet()) {
      if (!node.getValue().isRegularFile()) {
        continue; // directories and symlinks are recorded by the final pass, with their final metadata
      }
      FileStamp now;
      try {
        now = FileStamp.of(root.resolve(node.getKey()), node.getValue());
      } catch (NoSuchFileException gone) {
        continue; // deleted since the walk: the final pass records what is there
      }
      StoredEntry old = parent.get(node.getKey());
      if (old != null && old.kind() == EntryKind.FILE && FileStamp.trustedIn(old).filter(now::equals).isPresent()) {
        sink.reuse(old);
        copied.put(node.getKey(), new Copy(now, true));
      } else {
        toCopy.add(node);
      }
    }
    inParallel(context, toCopy, (path, attrs) -> {
      try {
        copy(sink, path, attrs);
      } catch (IOException e) {
        if (Files.isRegularFile(root.resolve(path), LinkOption.NOFOLLOW_LINKS)) {
          throw e;
        }
        // Deleted or replaced by another kind (a directory reads as EISDIR) since the walk: drop any
        // partial entry; the final pass records what is there.
        sink.remove(path);
        copied.remove(path);
      }
    });
    LOG.debug("{}: pre-copied {} files, {} reused unread from the parent", resource.id(), toCopy.size(),
        copied.size() - toCopy.size());
  }

  /**
   * Asks cooperating writers to pause by creating the marker file. Idempotent; the marker outlives this
   * process, so a crash leaves the tree quiesced until crash repair calls {@link #resume()}.
   */
  @Override
  public void quiesce() throws IOException {
    String by = capture == null ? ""
        : " for checkpoint " + capture.encapsulation() + "/" + capture.checkpointId();
    String text = "Lencap quiesced this tree" + by + " (pid " + ProcessHandle.current().pid() + ") at "
        + Instant.now() + ".\nWriters: do not start a write while this file exists.\n";
    // NOFOLLOW: a symlink planted under the marker's name must not redirect our write.
    Files.writeString(marker(), text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The final pass, inside the quiesce window: copies again what changed since the pre-copy, drops what was
   * deleted, records directories and symlinks. The state is then complete in the sink, so the cut is live
   * with nothing left for {@link #transfer}.
   */
  @Override
  public Cut cut(CaptureContext context) throws IOException {
    context.method(METHOD);
    StateSink sink = context.state();
    TreeScan scan = TreeScan.of(root);
    Map<String, PosixFileAttributes> nodes = scan.nodes();
    for (String path : List.copyOf(copied.keySet())) {
      PosixFileAttributes now = nodes.get(path);
      if (now == null || !now.isRegularFile()) {
        sink.remove(path);
        copied.remove(path);
      }
    }
    List<String> special = new ArrayList<>();
    List<String> unsettled = new CopyOnWriteArrayList<>();
    List<Map.Entry<String, PosixFileAttributes>> changed = new ArrayList<>();
    for (Map.Entry<String, PosixFileAttributes> node : nodes.entrySet()) {
      context.checkCancelled();
      String path = node.getKey();
      PosixFileAttributes a = node.getValue();
      if (a.isRegularFile()) {
        Copy c = copied.get(path);
        if (c == null || !c.trusted() || !c.stamp().equals(stampOf(path, a))) {
          changed.add(node); // a file gone since the walk too: its copy finds out and drops it
        }
      } else if (a.isDirectory()) {
        sink.entry(path, EntryKind.DIRECTORY, Map.of(
            FileStamp.MODE, PosixFilePermissions.toString(a.permissions()),
            FileStamp.MTIME, a.lastModifiedTime().toInstant().toString()));
      } else if (a.isSymbolicLink()) {
        String target;
        try {
          target = Files.readSymbolicLink(root.resolve(path)).toString();
        } catch (NoSuchFileException | NotLinkException gone) {
          unsettled.add(path); // replaced by a writer that ignores the marker
          continue;
        }
        sink.entry(path, EntryKind.SYMLINK, Map.of(TARGET, target,
            FileStamp.MTIME, a.lastModifiedTime().toInstant().toString()));
      } else {
        special.add(path);
      }
    }
    inParallel(context, changed, (path, attrs) -> {
      if (!copyFinal(sink, path, attrs)) {
        unsettled.add(path);
      }
    });
    if (!special.isEmpty()) {
      context.note("skipped " + special.size() + " special files (FIFOs, sockets, devices): " + sample(special));
    }
    if (!unsettled.isEmpty()) {
      context.note(unsettled.size() + " files kept changing during the final pass (a writer ignores the "
          + DirectoryTreeProvider.QUIESCE_MARKER + " marker); their last copy may be torn: " + sample(unsettled));
    }
    LOG.debug("{}: final pass copied {} files again", resource.id(), changed.size());
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

  /**
   * Copies a file in the final pass until a copy is consistent (writers are quiesced, so a racy stamp
   * does not matter for this capture); false when it never was.
   */
  private boolean copyFinal(StateSink sink, String path, PosixFileAttributes attrs) throws IOException {
    PosixFileAttributes a = attrs;
    for (int attempt = 1; ; attempt++) {
      try {
        if (copy(sink, path, a) || attempt == FINAL_ATTEMPTS) {
          return copied.get(path).stamp().equals(stampOf(path));
        }
        a = Files.readAttributes(root.resolve(path), PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (IOException e) {
        if (Files.isRegularFile(root.resolve(path), LinkOption.NOFOLLOW_LINKS)) {
          throw e;
        }
        sink.remove(path); // deleted or replaced by a writer that ignores the marker
        copied.remove(path);
        return false;
      }
    }
  }

  /**
   * Copies one regular file into the sink under the stamp read before the copy, and records whether the
   * copy can be trusted by a later pass: the stamp did not move while reading, and it is not racy.
   * Returns whether the copy is consistent (the stamp did not move).
   */
  private boolean copy(StateSink sink, String path, PosixFileAttributes before) throws IOException {
    Path file = root.resolve(path);
    FileStamp stamp = FileStamp.of(file, before);
    Instant seen = Instant.now(); // wall clock, like the file system's timestamps (not the engine's clock)
    try (SeekableByteChannel in = Files.newByteChannel(file,
            Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
        EntryWriter out = sink.create(path, EntryKind.FILE, stamp.attributes(seen), CHUNKING)) {
      ByteBuffer buffer = ByteBuffer.allocate(READ_BUFFER);
      while (in.read(buffer) >= 0) {
        buffer.flip();
        out.write(buffer);
        buffer.clear();
      }
    }
    boolean consistent = stamp.equals(stampOf(path));
    copied.put(path, new Copy(stamp, consistent && !stamp.racy(seen)));
    return consistent;
  }

  /** Work on one regular file. */
  private interface FileTask {
    void run(String path, PosixFileAttributes attributes) throws IOException;
  }

  /**
   * Runs the task on every file, a few at a time: the store hashes and compresses each entry on its own
   * pool, so copying several small files at once keeps every core busy. Fails with the first error.
   */
  private void inParallel(CaptureContext context, List<Map.Entry<String, PosixFileAttributes>> files,
      FileTask task) throws IOException {
    if (files.size() <= 1) {
      for (Map.Entry<String, PosixFileAttributes> f : files) {
        task.run(f.getKey(), f.getValue());
      }
      return;
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(COPIERS, files.size()), r -> {
      Thread t = new Thread(r, "lencap-tree-copy-" + resource.id());
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<?>> copies = new ArrayList<>(files.size());
      for (Map.Entry<String, PosixFileAttributes> f : files) {
        copies.add(pool.submit(() -> {
          context.checkCancelled();
          task.run(f.getKey(), f.getValue());
          return null;
        }));
      }
      for (Future<?> copy : copies) {
        copy.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while copying " + root);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IOException(cause);
    } finally {
      pool.shutdownNow();
    }
  }

  /** The stamp of a file whose attributes were just read, or null when it is gone. */
  private FileStamp stampOf(String path, PosixFileAttributes a) throws IOException {
    try {
      return FileStamp.of(root.resolve(path), a);
    } catch (NoSuchFileException gone) {
      return null;
    }
  }

  private FileStamp stampOf(String path) throws IOException {
    try {
      Path file = root.resolve(path);
      return FileStamp.of(file, Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
    } catch (NoSuchFileException gone) {
      return null;
    }
  }

  private static String sample(List<String> paths) {
    return paths.size() <= 5 ? paths.toString() : paths.subList(0, 5) + " and " + (paths.size() - 5) + " more";
  }

  // ---------------------------------------------------------------- restore

  /**
   * Validates every stored path, checks that the target directory exists or can be created, and verifies
   * every chunk of the checkpoint, so that a corrupt checkpoint fails here, before any member is written.
   */
  @Override
  public void prepareRestore(RestoreContext context) throws IOException {
    RestorePlan.of(context.state(), context.checkpointId(), context.captured().id());
    Path existing = root;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
      throw new IOException("cannot restore tree " + resource.id() + " onto " + root + ": "
          + (existing == null ? "no ancestor exists" : existing + " is not a writable directory"));
    }
    Set<String> verified = new HashSet<>();
    for (StoredEntry e : context.state().entries()) {
      for (ChunkRef chunk : e.chunks()) {
        if (verified.add(chunk.id())) {
          context.checkCancelled();
          context.state().read(chunk); // throws CorruptCheckpointException naming the chunk
        }
      }
    }
  }

  /**
   * The path and content checks {@link #prepareRestore} starts with, on what this capture stored: a
   * checkpoint its restore would refuse fails the capture instead of being committed.
   */
  @Override
  public void validate(StoredState state) {
    RestorePlan.of(state, state.checkpointId(), resource.id());
  }

  @Override
  public void restore(RestoreContext context) throws IOException {
    RestorePlan plan = RestorePlan.of(context.state(), context.checkpointId(), context.captured().id());
    TreeRestore.Result r = new TreeRestore(root, plan, context, fsync).run();
    LOG.info("{}: restored {} from {}: {} files rewritten ({} bytes), {} unchanged, {} entries removed",
        resource.id(), root, context.checkpointId(), r.rewritten(), r.bytesWritten(), r.unchanged(), r.removed());
  }

  // ---------------------------------------------------------------- health

  @Override
  public Health probe() {
    if (!Files.isDirectory(root)) {
      return Health.failed(root + (Files.exists(root) ? " is not a directory" : " does not exist"));
    }
    if (!Files.isReadable(root) || !Files.isExecutable(root)) {
      return Health.failed(root + " is not readable");
    }
    if (Files.exists(marker(), LinkOption.NOFOLLOW_LINKS)) {
      return Health.degraded("quiesced: " + marker() + " exists, cooperating writers are waiting");
    }
    return Health.healthy();
  }

  private void requireReadableDirectory() throws IOException {
    if (!Files.isDirectory(root)) {
      throw new NoSuchFileException(root.toString(), null, "tree " + resource.id() + " is not a directory");
    }
    if (!Files.isReadable(root) || !Files.isExecutable(root)) {
      throw new AccessDeniedException(root.toString(), null, "tree " + resource.id()
          + " is not readable");
    }
  }

  /** Nothing to release: the driver holds no connection or descriptor between calls. */
  @Override
  public void close() {}

  private Path marker() {
    return root.resolve(DirectoryTreeProvider.QUIESCE_MARKER);
  }
}
