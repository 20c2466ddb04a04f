package io.lencap.core;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Objects as files under a root directory. A write goes to a temporary file, then is renamed (or
 * linked) into place, atomic on POSIX. Durability is batched: {@link #flush()}, which the store calls
 * before it commits a manifest, syncs the file system once ({@code syncfs} through coreutils'
 * {@code sync -f}; fsync of each new file where that is missing) when more than {@value #FSYNC_LIMIT} files wait,
 * else fsyncs each of them and the directories that gained entries. Per-object fsync cost about 0.5 ms per chunk
 * here: most of a capture of small files. Every {@value #WRITEBACK_BYTES} bytes written, a flush starts in the
 * background, so that the disk writes while a capture reads and the commit's flush finds little left.
 */
final class LocalBackend implements BlobBackend {
  private static final String TEMP_SUFFIX = ".tmp";
  private static final long PID = ProcessHandle.current().pid();
  private static final Logger LOG = LoggerFactory.getLogger(LocalBackend.class);
  /** Bytes written after which a sync starts in the background (one at a time per store). */
  static final long WRITEBACK_BYTES = 64L << 20;
  /** Up to this many files, a flush syncs them one by one rather than the whole file system. */
  static final int FSYNC_LIMIT = 32;
  private static final Executor WRITEBACK = Executors.newCachedThreadPool(
      new ThreadFactoryBuilder().setNameFormat("lencap-store-writeback-%d").setDaemon(true).build());
  private final Path root;
  private final Set<Path> dirtyDirectories = ConcurrentHashMap.newKeySet();
  private final Set<Path> dirtyFiles = ConcurrentHashMap.newKeySet();
  /** Directories this backend made or found: a chunk's write need not create its directory again. */
  private final Set<Path> directories = ConcurrentHashMap.newKeySet();
  /**
   * Temporary files are named by this backend's random id and a counter: unique across processes and hosts
   * sharing the store without a {@code UUID.randomUUID()} (a read of the system's random source) per object.
   */
  private final String tempPrefix = UUID.randomUUID().toString();
  private final AtomicLong temps = new AtomicLong();
  private volatile boolean syncfs = true;
  private final AtomicLong unsynced = new AtomicLong();
  private final AtomicBoolean syncing = new AtomicBoolean();
  private final Object flushLock = new Object();

  LocalBackend(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    if (Files.exists(this.root) && !Files.isDirectory(this.root)) {
      throw new java.nio.file.NotDirectoryException(this.root + " is not a directory: a local store is a directory"
          + " (give a directory path, or one that does not exist yet)");
    }
    Files.createDirectories(this.root);
    removeTempsOfDeadProcesses();
  }

  /** A process killed mid-write leaves its temporary files; they carry its pid so that others can tell. */
  private void removeTempsOfDeadProcesses() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        if (!name.endsWith(TEMP_SUFFIX)) {
          continue;
        }
        String[] parts = name.split("\\.");
        try {
          long pid = Long.parseLong(parts[parts.length - 2]);
          if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            continue;
          }
        } catch (RuntimeException notOurs) {
          continue;
        }
        Files.deleteIfExists(p);
      }
    }
  }

  @Override
  public String describe() {
    return root.toString();
  }

  @Override
  public void put(String key, byte[] data) throws IOException {
    Path target = resolve(key);
    Path temp = writeTemp(target, data);
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(temp);
      throw new IOException("the store's file system cannot rename atomically: " + root, e);
    }
    dirtyFiles.add(target);
    dirtyDirectories.add(target.getParent());
    written(data.length);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws IOException {
    Path target = resolve(key);
    if (Files.exists(target)) {
      return false;
    }
    Path temp = writeTemp(target, data);
    try {
      // A hard link fails when the target exists: an atomic create-if-absent, also across processes.
      Files.createLink(target, temp);
      dirtyFiles.add(target);
      dirtyDirectories.add(target.getParent());
      written(data.length);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  @Override
  public Optional<byte[]> get(String key) throws IOException {
    try {
      return Optional.of(Files.readAllBytes(resolve(key)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean exists(String key) {
    return Files.exists(resolve(key));
  }

  @Override
  public List<BlobInfo> list(String prefix) throws IOException {
    int slash = prefix.lastIndexOf('/');
    Path dir = slash < 0 ? root : resolve(prefix.substring(0, slash));
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<BlobInfo> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      files.forEach(p -> {
        String key = root.relativize(p).toString().replace('\\', '/');
        if (!key.startsWith(prefix) || key.endsWith(TEMP_SUFFIX)) {
          return;
        }
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
          if (a.isRegularFile()) {
            out.add(new BlobInfo(key, a.size(), a.lastModifiedTime().toInstant()));
          }
        } catch (NoSuchFileException gone) {
          // deleted while listing
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return out;
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws IOException {
    try {
      BasicFileAttributes a = Files.readAttributes(resolve(key), BasicFileAttributes.class);
      return a.isRegularFile() ? Optional.of(new BlobInfo(key, a.size(), a.lastModifiedTime().toInstant()))
          : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public void delete(String key) throws IOException {
    Files.deleteIfExists(resolve(key));
  }

  @Override
  public void flush() throws IOException {
    // One flush at a time: a caller must not return while a background flush still syncs files it took off.
    synchronized (flushLock) {
      flushDirty();
    }
  }

  private void flushDirty() throws IOException {
    List<Path> files = List.copyOf(dirtyFiles);
    List<Path> dirs = List.copyOf(dirtyDirectories);
    // Taken off before the sync, put back if it fails: an entry a writer adds meanwhile marks its file or
    // directory dirty again, for the next flush.
    files.forEach(dirtyFiles::remove);
    dirs.forEach(dirtyDirectories::remove);
    try {
      // Many files: one syncfs(2), which also writes the file system's metadata, so the entries these directories
      // gained before it ran are durable (an fsync of each, up to 256 chunk directories, was most of a flush's
      // samples). A few files (a journal record, a lease, a manifest): an fsync of each and of its directory,
      // because syncfs also waits for every other writer's dirty data on the file system (it cost a capture's
      // set-up half a second after a copy of 750 MB elsewhere on the disk).
      if (files.size() > FSYNC_LIMIT && syncfs && syncFileSystem()) {
        return;
      }
      for (Path f : files) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
          ch.force(false);
        } catch (NoSuchFileException gone) {
          // collected meanwhile
        }
      }
      for (Path dir : dirs) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
          ch.force(true);
        }
      }
    } catch (IOException | RuntimeException e) {
      dirtyFiles.addAll(files);
      dirtyDirectories.addAll(dirs);
      throw e;
    }
  }

  /** Files and directories that wait for a flush. */
  int unflushed() {
    return dirtyFiles.size() + dirtyDirectories.size();
  }

  /**
   * Counts bytes written; past {@link #WRITEBACK_BYTES} since the last sync began, starts one in the background.
   * The kernel holds back writeback until gigabytes are dirty, so without this a capture's whole store write
   * would wait for the commit's flush; with it, the disk writes while the capture still reads and hashes.
   */
  private void written(int bytes) {
    if (unsynced.addAndGet(bytes) >= WRITEBACK_BYTES && syncing.compareAndSet(false, true)) {
      unsynced.set(0);
      WRITEBACK.execute(() -> {
        try {
          flush();
        } catch (IOException | RuntimeException e) {
          LOG.debug("background sync of {} failed; the commit's flush syncs again", root, e);
        } finally {
          syncing.set(false);
        }
      });
    }
  }

  /** One syncfs(2) of the store's file system; false (and never again) when it cannot be run. */
  private boolean syncFileSystem() throws IOException {
    try {
      Process p = new ProcessBuilder("sync", "-f", root.toString()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (p.waitFor() == 0) {
        return true;
      }
    } catch (IOException e) {
      // no coreutils sync: fall back to fsync per file
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while syncing " + root);
    }
    syncfs = false;
    return false;
  }

  private Path writeTemp(Path target, byte[] data) throws IOException {
    Path dir = target.getParent();
    if (!directories.contains(dir)) {
      Files.createDirectories(dir);
      directories.add(dir);
    }
    Path temp = target.resolveSibling(target.getFileName() + "." + tempPrefix + "-" + temps.incrementAndGet() + "."
        + PID + TEMP_SUFFIX);
    try (FileChannel ch = create(temp)) {
      ByteBuffer buf = ByteBuffer.wrap(data);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    return temp;
  }

  private FileChannel create(Path temp) throws IOException {
    try {
      return FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    } catch (NoSuchFileException e) { // its directory was removed since this backend saw it
      Files.createDirectories(temp.getParent());
      return FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }
  }

  private Path resolve(String key) {
    if (key.isEmpty() || key.startsWith("/") || key.contains("..") || key.contains("\\")) {
      throw new IllegalArgumentException("bad object key '" + key + "'");
    }
    return root.resolve(key);
  }
}
