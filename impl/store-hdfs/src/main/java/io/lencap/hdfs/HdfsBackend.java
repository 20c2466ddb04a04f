package io.lencap.hdfs;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Objects as HDFS files under a root directory.
 *
 * <p>Every write goes to a new file under {@code ROOT/.tmp}, created with {@code SYNC_BLOCK} (closing it
 * puts its block on the disks of every DataNode in the pipeline, not only in their memory), then is
 * renamed into place by the NameNode in one atomic step: {@link #put} renames with {@code OVERWRITE}, {@link #putIfAbsent} without
 * it, so that of two writers racing for one key exactly one rename succeeds and the other gets
 * {@link FileAlreadyExistsException}. Readers therefore never see a partial object, and a writer that
 * dies mid-write leaves only a temporary file (removed by the next open once an hour old). Since each
 * write is durable when it returns, {@link #flush()} has nothing to do.
 */
final class HdfsBackend implements BlobBackend {
  private static final Logger log = LoggerFactory.getLogger(HdfsBackend.class);
  private static final String TEMP_DIR = ".tmp";
  /** No object write takes this long: an older temporary file was left by a writer that died. */
  private static final Duration STALE_TEMP = Duration.ofHours(1);
  /**
   * Create (never overwrite) and have the DataNodes sync each block to disk when it closes. Not hsync:
   * after an hsync, HDFS's default policy insists on replacing a DataNode that fails mid-write, which a
   * three-node cluster cannot, so the write failed; a synced block close gives the same durability and
   * lets the write finish on the two DataNodes left.
   */
  private static final EnumSet<CreateFlag> WRITE_FLAGS = EnumSet.of(CreateFlag.CREATE, CreateFlag.SYNC_BLOCK);
  /**
   * Packs of 16 MiB: each is a file whose blocks every DataNode syncs when it closes ({@code SYNC_BLOCK}). A capture
   * in packs of 4 MiB ran at 0.42–0.61 of one such file of the same bytes (median 0.50), in packs of 16 MiB at
   * 0.46–1.02 (median 0.69): HdfsThroughputIT, 256 MiB, 2026-12-04. Four are written at once: up to 80 MiB of a
   * capture's memory.
   */
  static final int PACK_SIZE = 16 << 20;
  private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");

  private final DistributedFileSystem fs;
  private final Path root;
  private final String rootPath;
  private final Path temps;
  private final short replication;
  private final int bufferSize;
  private final FsPermission umask;
  /** Parent directories created or seen, to spare the NameNode a mkdirs per object. */
  private final Set<Path> directories = ConcurrentHashMap.newKeySet();

  HdfsBackend(DistributedFileSystem fs, Path root, Optional<Short> replication) throws IOException {
    this.fs = fs;
    this.root = fs.makeQualified(root);
    this.rootPath = this.root.toUri().getPath();
    this.temps = new Path(this.root, TEMP_DIR);
    fs.mkdirs(temps);
    this.replication = replication.orElse(fs.getDefaultReplication(this.root));
    this.bufferSize = fs.getConf().getInt("io.file.buffer.size", 4096);
    this.umask = FsPermission.getUMask(fs.getConf());
    removeStaleTemps();
  }

  private void removeStaleTemps() throws IOException {
    long cutoff = Instant.now().minus(STALE_TEMP).toEpochMilli();
    for (FileStatus s : fs.listStatus(temps)) {
      if (s.getModificationTime() < cutoff && fs.delete(s.getPath(), false)) {
        log.debug("removed {}, left by a writer that died", s.getPath());
      }
    }
  }

  /** Each put is a NameNode create, a DataNode pipeline and a rename: overlap several. */
  @Override
  public int concurrency() {
    return 16;
  }

  /**
   * Every chunk: a file per 256 KiB chunk ran at 0.11 of a raw write of the same bytes, a file per 4 MiB one at
   * 0.42 (HdfsThroughputIT, 2026-12-04).
   */
  @Override
  public int packBelow() {
    return Integer.MAX_VALUE;
  }

  @Override
  public int packSize() {
    return PACK_SIZE;
  }

  @Override
  public String describe() {
    return root.toString();
  }

  /** The replication factor new objects get. */
  short replication() {
    return replication;
  }

  @Override
  public void put(String key, byte[] data) throws IOException {
    Path target = resolve(key);
    Path temp = writeTemp(data);
    try {
      moveInto(temp, target, Options.Rename.OVERWRITE);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(temp);
      throw e;
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws IOException {
    Path target = resolve(key);
    if (fs.exists(target)) {
      return false;
    }
    Path temp = writeTemp(data);
    try {
      moveInto(temp, target, Options.Rename.NONE);
      return true;
    } catch (FileAlreadyExistsException raceLost) {
      deleteQuietly(temp);
      return false;
    } catch (IOException | RuntimeException e) {
      deleteQuietly(temp);
      throw e;
    }
  }

  private Path writeTemp(byte[] data) throws IOException {
    Path temp = new Path(temps, UUID.randomUUID() + ".tmp");
    try (FSDataOutputStream out = fs.create(temp, FsPermission.getFileDefault().applyUMask(umask), WRITE_FLAGS,
        bufferSize, replication, fs.getDefaultBlockSize(temp), null)) {
      out.write(data);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(temp);
      throw e;
    }
    return temp;
  }

  private void moveInto(Path temp, Path target, Options.Rename mode) throws IOException {
    Path parent = target.getParent();
    if (!directories.contains(parent)) {
      fs.mkdirs(parent); // idempotent: threads racing here all succeed
      directories.add(parent);
    }
    try {
      fs.rename(temp, target, mode);
    } catch (FileNotFoundException e) {
      fs.mkdirs(parent); // removed behind our back: create it once more
      fs.rename(temp, target, mode);
    }
  }

  private void deleteQuietly(Path temp) {
    try {
      fs.delete(temp, false);
    } catch (IOException | RuntimeException e) {
      log.debug("could not remove {}: {}", temp, e.toString());
    }
  }

  @Override
  public Optional<byte[]> get(String key) throws IOException {
    try (FSDataInputStream in = fs.open(resolve(key))) {
      return Optional.of(in.readAllBytes());
    } catch (FileNotFoundException e) {
      return Optional.empty();
    }
  }

  /** A positional read: a chunk out of a pack costs its own bytes, not the pack's. */
  @Override
  public Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " of " + key);
    }
    try (FSDataInputStream in = fs.open(resolve(key))) {
      byte[] buffer = new byte[length];
      int done = 0;
      while (done < length) {
        int n = in.read(offset + done, buffer, done, length - done);
        if (n < 0) {
          break; // the object ends first
        }
        done += n;
      }
      return Optional.of(done == length ? buffer : java.util.Arrays.copyOf(buffer, done));
    } catch (FileNotFoundException e) {
      return Optional.empty();
    }
  }

  @Override
  public boolean exists(String key) throws IOException {
    return fs.exists(resolve(key));
  }

  @Override
  public List<BlobInfo> list(String prefix) throws IOException {
    int slash = prefix.lastIndexOf('/');
    Path dir = slash <= 0 ? root : resolve(prefix.substring(0, slash));
    List<BlobInfo> out = new ArrayList<>();
    walk(dir, prefix, out);
    return out;
  }

  private void walk(Path dir, String prefix, List<BlobInfo> out) throws IOException {
    try {
      RemoteIterator<FileStatus> it = fs.listStatusIterator(dir);
      while (it.hasNext()) {
        FileStatus s = it.next();
        String key = keyOf(s.getPath());
        if (s.isDirectory()) {
          String asPrefix = key + "/";
          if (!key.equals(TEMP_DIR) && (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix))) {
            walk(s.getPath(), prefix, out);
          }
        } else if (key.startsWith(prefix)) {
          out.add(new BlobInfo(key, s.getLen(), Instant.ofEpochMilli(s.getModificationTime())));
        }
      }
    } catch (FileNotFoundException e) {
      // the directory does not exist (yet), or went away while listing: nothing under it
    }
  }

  private String keyOf(Path p) {
    return p.toUri().getPath().substring(rootPath.length() + 1);
  }

  @Override
  public void delete(String key) throws IOException {
    fs.delete(resolve(key), false);
  }

  @Override
  public void close() throws IOException {
    fs.close();
  }

  private Path resolve(String key) {
    if (!KEY.matcher(key).matches() || key.contains("..")) {
      throw new IllegalArgumentException("bad object key '" + key + "'");
    }
    return new Path(root, key);
  }
}
