package io.lencap.nfs;

import io.lencap.nfs.NfsSession.Node;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a checked tree onto an export, differentially: what the checkpoint lacks is removed, a file that
 * is still the captured object (same file id, size, mtime and ctime) is left alone, and the captured file
 * changed since (same file id, its only link) is compared chunk by chunk and only differing chunks are
 * written. Any other file under the name (another file id, a second link: maybe a hard link planted to a
 * file outside the tree, or shared with another entry) is never written through: the entry goes into a new
 * file beside it, renamed into place. Then owners, modes and times are set, directories last and deepest
 * first so that writing their children does not change them again.
 *
 * <p>Directory handles come from the walk and may go stale (a directory replaced on the server, or served
 * from a caching server's memory after it was replaced behind its back): a call that gets NFS3ERR_STALE on
 * a directory's handle looks the directory up again by path and runs once more.
 */
final class TreeRestore {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TreeRestore.class);
  /** Names of new files before they are renamed into place; a restore removes strays of a crashed one. */
  static final String TEMP_PREFIX = ".lencap-restore-";
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
  private final NfsSession s;
  private final ManifestCheck.Plan plan;
  private final StoredState state;
  private final RestoreContext ctx;
  private final ExecutorService pool;
  private final Map<String, byte[]> handles = new ConcurrentHashMap<>();
  private final AtomicLong done = new AtomicLong();
  private long total;

  /** What a restore did, for tests and notes; {@code filesReplaced} were written anew and renamed into place. */
  record Result(int removed, int created, int filesWritten, long bytesWritten, int filesUnchanged,
      int filesReplaced) {}

  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong filesWritten = new AtomicLong();
  private final AtomicLong unchanged = new AtomicLong();
  private final AtomicLong replaced = new AtomicLong();

  TreeRestore(NfsSession s, ManifestCheck.Plan plan, StoredState state, RestoreContext ctx, ExecutorService pool) {
    this.s = s;
    this.plan = plan;
    this.state = state;
    this.ctx = ctx;
    this.pool = pool;
  }

  Result run() throws Exception {
    verifyChunks();
    handles.put("", s.root());
    List<Node> current = TreeWalker.walk(s, pool, ctx::isCancelled);
    Map<String, Node> existing = new HashMap<>();
    for (Node n : current) {
      existing.put(n.path(), n);
      if (n.attrs().kind() == Attrs.Kind.DIRECTORY) {
        handles.put(n.path(), n.handle());
      }
    }
    total = plan.entries().stream().mapToLong(StoredEntry::size).sum();

    // 1. Remove what the checkpoint lacks or has as another kind, children before parents.
    List<Node> doomed = new ArrayList<>();
    for (Node n : current) {
      StoredEntry e = plan.byPath().get(n.path());
      if (e == null || !sameKind(n, e) || (e.kind() == EntryKind.SYMLINK && !sameTarget(n, e))) {
        doomed.add(n);
      }
    }
    doomed.sort(Comparator.comparingInt((Node n) -> -ManifestCheck.depth(n.path())));
    for (Node n : doomed) {
      ctx.checkCancelled();
      removeListed(n);
      existing.remove(n.path());
      handles.remove(n.path());
    }

    // 2. Directories, parents first (the plan is ordered so); writable for us until the end.
    int created = 0;
    for (StoredEntry e : plan.entries()) {
      if (e.kind() != EntryKind.DIRECTORY) {
        continue;
      }
      if (!existing.containsKey(e.path())) {
        ctx.checkCancelled();
        handles.put(e.path(), inDir(parentOf(e.path()), dir -> s.mkdir(dir, nameOf(e.path()), 0700, e.path())));
        created++;
      }
    }

    // 3. Files and symlinks, in parallel, with their own metadata.
    List<Callable<Void>> work = new ArrayList<>();
    for (StoredEntry e : plan.entries()) {
      if (e.kind() == EntryKind.FILE) {
        Node n = existing.get(e.path());
        if (n == null) {
          created++;
        }
        work.add(() -> {
          ctx.checkCancelled();
          file(e, n);
          return null;
        });
      } else if (e.kind() == EntryKind.SYMLINK) {
        Node n = existing.get(e.path());
        if (n == null) {
          created++;
        }
        work.add(() -> {
          link(e, n);
          return null;
        });
      }
    }
    Parallel.all(pool, work);

    // 4. Directory metadata, deepest first, then the root's.
    List<StoredEntry> dirs = new ArrayList<>();
    for (StoredEntry e : plan.entries()) {
      if (e.kind() == EntryKind.DIRECTORY) {
        dirs.add(e);
      }
    }
    for (int i = dirs.size() - 1; i >= 0; i--) {
      StoredEntry e = dirs.get(i);
      // always: adding or removing children changed the directory's mtime since we listed it
      TreeAttributes.Meta m = TreeAttributes.meta(e.attributes(), "", e.path());
      inDir(e.path(), dir -> {
        meta(dir, m, null, false, e.path());
        return null;
      });
    }
    meta(s.root(), plan.root(), null, true, "");
    return new Result(doomed.size(), created, (int) filesWritten.get(), bytesWritten.get(), (int) unchanged.get(),
        (int) replaced.get());
  }

  /**
   * Reads and verifies every distinct chunk before the first change to the export, so that a corrupt
   * checkpoint fails the restore and leaves the export untouched (even where it already matches).
   */
  private void verifyChunks() throws Exception {
    Map<String, ChunkRef> distinct = new HashMap<>();
    for (StoredEntry e : plan.entries()) {
      for (ChunkRef c : e.chunks()) {
        distinct.putIfAbsent(c.id(), c);
      }
    }
    List<Callable<Void>> reads = new ArrayList<>();
    for (ChunkRef c : distinct.values()) {
      reads.add(() -> {
        ctx.checkCancelled();
        state.read(c);
        return null;
      });
    }
    Parallel.all(pool, reads);
  }

  private void file(StoredEntry e, Node n) throws IOException {
    TreeAttributes.Meta m = TreeAttributes.meta(e.attributes(), "", e.path());
    if (n != null && untouched(n.attrs(), e)) {
      unchanged.incrementAndGet();
      done.addAndGet(e.size());
      ctx.progress(done.get(), total);
      return; // still the very object we captured: nothing is written, not even metadata
    }
    if (n != null && ownedInPlace(n.attrs(), e)) {
      try {
        boolean wrote = writeDifferences(n.handle(), n.attrs(), e);
        meta(n.handle(), m, n.attrs(), !wrote, e.path());
        return;
      } catch (NfsSession.NfsError stale) {
        if (stale.status != NfsSession.STALE) {
          throw stale;
        }
        // the file we listed is gone from the server: whatever is under the name now gets replaced
      }
    }
    if (n == null) {
      try {
        byte[] fh = inDir(parentOf(e.path()),
            dir -> s.createNew(dir, nameOf(e.path()), m.mode() | 0600, m.uid(), m.gid(), e.path()));
        writeAll(fh, e);
        meta(fh, m, null, false, e.path());
        return;
      } catch (NfsSession.NfsError exists) {
        if (exists.status != NfsSession.EXIST) {
          throw exists;
        }
        // something appeared under the name since the walk: replace it like any file we do not own
      }
    }
    inDir(parentOf(e.path()), dir -> {
      replace(dir, e, m);
      return null;
    });
  }

  /**
   * Whether writing into the existing file in place can only change this entry: a regular file with the
   * captured file id and no other name (a second link may be a file outside the tree, or another entry,
   * planted after the capture; a file id alone may have been reused by another file since).
   */
  private static boolean ownedInPlace(Attrs a, StoredEntry e) {
    return a.kind() == Attrs.Kind.FILE && a.nlink() == 1
        && Long.toString(a.fileid()).equals(e.attributes().get(TreeAttributes.FILEID));
  }

  /**
   * Writes the entry into a new file beside the existing one and renames it into place: the file that was
   * there loses this name and is otherwise left as it was (with its other links, if any).
   */
  private void replace(byte[] dir, StoredEntry e, TreeAttributes.Meta m) throws IOException {
    String temp = null;
    byte[] fh = null;
    for (int attempt = 0; fh == null; attempt++) {
      String name = TEMP_PREFIX + Long.toHexString(RANDOM.nextLong());
      try {
        fh = s.createNew(dir, name, m.mode() | 0600, m.uid(), m.gid(), e.path());
        temp = name;
      } catch (NfsSession.NfsError taken) {
        if (taken.status != NfsSession.EXIST || attempt == 3) {
          throw taken;
        }
      }
    }
    try {
      writeAll(fh, e);
      meta(fh, m, null, false, e.path()); // before the rename: the entry appears whole, metadata included
      s.rename(dir, temp, dir, nameOf(e.path()), e.path());
      temp = null;
      replaced.incrementAndGet();
    } finally {
      if (temp != null) {
        try {
          s.remove(dir, temp, e.path());
        } catch (IOException | RuntimeException cleanup) {
          log.warn("{}: could not remove the temporary file {} beside {}: {}", s.where(), temp, e.path(),
              cleanup.getMessage());
        }
      }
    }
  }

  /** Writes every chunk into a new, empty file and commits it. */
  private void writeAll(byte[] fh, StoredEntry e) throws IOException {
    for (ChunkRef c : e.chunks()) {
      ctx.checkCancelled();
      s.write(fh, c.offset(), state.read(c), e.path());
      bytesWritten.addAndGet(c.length());
      progress(c.length());
    }
    s.commit(fh, e.path());
    filesWritten.incrementAndGet();
  }

  /** Writes only the chunks that differ into the captured file itself; true when anything was written. */
  private boolean writeDifferences(byte[] fh, Attrs current, StoredEntry e) throws IOException {
    boolean wrote = false;
    byte[] buf = null;
    for (ChunkRef c : e.chunks()) {
      ctx.checkCancelled();
      if (c.offset() + c.length() <= current.size()) {
        if (buf == null || buf.length < c.length()) {
          buf = new byte[c.length()];
        }
        int got = readFully(fh, c.offset(), buf, c.length(), e.path());
        if (got == c.length() && state.matches(c, ByteBuffer.wrap(buf, 0, got))) {
          progress(c.length());
          continue;
        }
      }
      s.write(fh, c.offset(), state.read(c), e.path());
      bytesWritten.addAndGet(c.length());
      progress(c.length());
      wrote = true;
    }
    if (current.size() != e.size()) {
      s.setattr(fh, null, null, null, e.size(), null, null, e.path());
      wrote = true;
    }
    if (wrote) {
      s.commit(fh, e.path());
      filesWritten.incrementAndGet();
    }
    return wrote;
  }

  private void link(StoredEntry e, Node n) throws IOException {
    byte[] fh = n != null ? n.handle()
        : inDir(parentOf(e.path()),
            dir -> s.symlink(dir, nameOf(e.path()), e.attributes().get(TreeAttributes.TARGET), e.path()));
    TreeAttributes.Meta m = TreeAttributes.meta(e.attributes(), "", e.path());
    try {
      // A symlink's mode means nothing; owner and times are worth a try (servers may refuse them).
      s.setattr(fh, null, m.uid(), m.gid(), null, m.atime(), m.mtime(), e.path());
    } catch (NfsSession.NfsError refused) {
      log.debug("{}: the server refused owner/times on symlink {}: {}", s.where(), e.path(), refused.getMessage());
    }
  }

  /** Sets mode, owner and times; skips what already matches when {@code current} is known and unwritten. */
  private void meta(byte[] fh, TreeAttributes.Meta m, Attrs current, boolean trustCurrent, String path)
      throws IOException {
    if (trustCurrent && current != null && current.mode() == m.mode() && current.uid() == m.uid()
        && current.gid() == m.gid() && millis(current.mtime()) == millis(m.mtime())
        && millis(current.atime()) == millis(m.atime())) {
      return;
    }
    s.setattr(fh, m.mode(), m.uid(), m.gid(), null, m.atime(), m.mtime(), path);
  }

  private int readFully(byte[] fh, long offset, byte[] buf, int length, String path) throws IOException {
    int got = 0;
    while (got < length) {
      NfsSession.Read r = s.read(fh, offset + got, buf, got, length - got, path);
      got += r.bytes();
      if (r.eof() || r.bytes() == 0) {
        break;
      }
    }
    return got;
  }

  private void progress(long bytes) {
    ctx.progress(done.addAndGet(bytes), total);
  }

  private static boolean untouched(Attrs a, StoredEntry e) {
    Map<String, String> at = e.attributes();
    return Long.toString(a.fileid()).equals(at.get(TreeAttributes.FILEID)) && a.size() == e.size()
        && Long.toString(a.mtime()).equals(at.get(TreeAttributes.MTIME))
        && Long.toString(a.ctime()).equals(at.get(TreeAttributes.CTIME));
  }

  private boolean sameKind(Node n, StoredEntry e) {
    return switch (n.attrs().kind()) {
      case FILE -> e.kind() == EntryKind.FILE;
      case DIRECTORY -> e.kind() == EntryKind.DIRECTORY;
      case SYMLINK -> e.kind() == EntryKind.SYMLINK;
      case OTHER -> false;
    };
  }

  private boolean sameTarget(Node n, StoredEntry e) throws IOException {
    return s.readlink(n.handle(), n.path()).equals(e.attributes().get(TreeAttributes.TARGET));
  }

  /**
   * Removes an entry the walk listed. NOENT is not taken on trust (a name that does not reach the server as
   * listed would otherwise leave the entry in place, reported as removed): it passes only when a LOOKUP of
   * the same name in the directory, looked up afresh, confirms that nothing is there any more.
   */
  private void removeListed(Node n) throws IOException {
    String parent = parentOf(n.path());
    try {
      inDir(parent, dir -> {
        if (n.attrs().kind() == Attrs.Kind.DIRECTORY) {
          s.rmdir(dir, n.name(), n.path());
        } else {
          s.remove(dir, n.name(), n.path());
        }
        return null;
      });
    } catch (NfsSession.NfsError e) {
      if (e.status != NfsSession.NOENT) {
        throw e;
      }
      Optional<Node> still = s.lookupPath(n.path());
      if (still.isPresent()) {
        throw new IOException(s.where() + ": '" + StoredNames.printable(n.path()) + "' is listed and found by "
            + "LOOKUP, but the server says it does not exist when asked to remove it", e);
      }
      log.debug("{}: {} went away before the restore removed it", s.where(), n.path());
    }
  }

  private interface DirCall<T> {
    T run(byte[] dir) throws IOException;
  }

  /** Runs a call on a directory's handle; on a stale handle, looks the directory up by path and runs again. */
  private <T> T inDir(String dirPath, DirCall<T> call) throws IOException {
    byte[] h = handles.get(dirPath);
    if (h != null) {
      try {
        return call.run(h);
      } catch (NfsSession.NfsError e) {
        if (e.status != NfsSession.STALE || dirPath.isEmpty()) {
          throw e;
        }
        log.debug("{}: handle of {} went stale; looking it up again", s.where(), dirPath);
      }
    }
    Node fresh = s.lookupPath(dirPath).filter(d -> d.attrs().kind() == Attrs.Kind.DIRECTORY)
        .orElseThrow(() -> new IOException(s.where() + ": directory '" + StoredNames.printable(dirPath)
            + "' of the checkpoint disappeared from the export during the restore"));
    handles.put(dirPath, fresh.handle());
    return call.run(fresh.handle());
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }

  private static String nameOf(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  private static long millis(long nanos) {
    return Math.floorDiv(nanos, 1_000_000L);
  }
}
