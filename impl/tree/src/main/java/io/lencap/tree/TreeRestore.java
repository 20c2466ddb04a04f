package io.lencap.tree;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.tree.TreeFileException.Reason;
import io.lencap.tree.TreeFiles.SetAttrs;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a checked tree onto a tree, differentially: what the checkpoint lacks is removed, a file that is
 * still the captured object (same file id, size, mtime and ctime) is left alone, and the captured file
 * changed since (same file id, its only link) is compared chunk by chunk and only differing chunks are
 * written. Any other file under the name (another file id, a second link: maybe a hard link planted to a
 * file outside the tree, or shared with another entry) is never written through: the entry goes into a new
 * file beside it, renamed into place. New files are written sparse: blocks of zeros are not written, the
 * length is set at the end. Hard links of the checkpoint are linked to the file restored under their first
 * name. Then owners, modes and times are set, directories last and deepest first so that writing their
 * children does not change them again; directories the restore creates stay 0700 until then.
 *
 * <p>Directory handles come from the walk and may go stale; {@link DirectoryHandles} looks a directory up
 * again by path then. Blocks of zeros are skipped by {@link SparseWrites}. About 470 lines: the restore's
 * steps in order, each short, kept together so that their order (remove, directories, files, links,
 * directory metadata) reads in one place.
 */
public final class TreeRestore<H> {
  private static final System.Logger log = System.getLogger(TreeRestore.class.getName());
  /** Names of new files before they are renamed into place; a restore removes strays of a crashed one. */
  public static final String TEMP_PREFIX = ".lencap-restore-";
  private static final SecureRandom RANDOM = new SecureRandom();
  private final TreeFiles<H> fs;
  private final ManifestCheck.Plan plan;
  private final StoredState state;
  private final RestoreContext ctx;
  private final ExecutorService pool;
  private final DirectoryHandles<H> handles;
  private final AtomicLong done = new AtomicLong();
  private long total;
  private boolean verified;

  /**
   * What a restore did, for tests and notes; {@code filesReplaced} were written anew and renamed into place,
   * {@code linked} hard links made.
   */
  public record Result(int removed, int created, int filesWritten, long bytesWritten, int filesUnchanged,
      int filesReplaced, int linked) {}

  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong filesWritten = new AtomicLong();
  private final AtomicLong unchanged = new AtomicLong();
  private final AtomicLong replaced = new AtomicLong();

  public TreeRestore(TreeFiles<H> fs, ManifestCheck.Plan plan, StoredState state, RestoreContext ctx,
      ExecutorService pool) {
    this.fs = fs;
    this.handles = new DirectoryHandles<>(fs);
    this.plan = plan;
    this.state = state;
    this.ctx = ctx;
    this.pool = pool;
  }

  public Result run() throws Exception {
    if (!verified) {
      verifyChunks();
    }
    handles.put("", fs.root());
    List<TreeNode<H>> current = TreeWalker.walk(fs, pool, ctx::isCancelled);
    Map<String, TreeNode<H>> existing = new HashMap<>();
    for (TreeNode<H> n : current) {
      existing.put(n.path(), n);
      if (n.attrs().kind() == FileAttrs.Kind.DIRECTORY) {
        handles.put(n.path(), n.handle());
      }
    }
    total = plan.entries().stream().mapToLong(StoredEntry::size).sum();

    // 1. Remove what the checkpoint lacks or has as another kind, children before parents. Special files
    //    (FIFOs, devices, sockets) are never in a checkpoint: they go, unopened.
    List<TreeNode<H>> doomed = new ArrayList<>();
    for (TreeNode<H> n : current) {
      StoredEntry e = plan.byPath().get(n.path());
      if (e == null || !sameKind(n, e) || (e.kind() == EntryKind.SYMLINK && !sameTarget(n, e))) {
        doomed.add(n);
      }
    }
    doomed.sort(Comparator.comparingInt((TreeNode<H> n) -> -ManifestCheck.depth(n.path())));
    for (TreeNode<H> n : doomed) {
      ctx.checkCancelled();
      removeListed(n);
      existing.remove(n.path());
      handles.remove(n.path());
    }

    // 2. Directories, parents first (the plan is ordered so); 0700 (only ours) until the end.
    int created = 0;
    for (StoredEntry e : plan.entries()) {
      if (e.kind() != EntryKind.DIRECTORY) {
        continue;
      }
      if (!existing.containsKey(e.path())) {
        ctx.checkCancelled();
        handles.put(e.path(),
            handles.inDir(parentOf(e.path()), dir -> fs.mkdir(dir, nameOf(e.path()), 0700, e.path())));
        created++;
      }
    }

    // 3. Files and symlinks, in parallel, with their own metadata; then the other names of hard links.
    List<Callable<Void>> work = new ArrayList<>();
    List<StoredEntry> hardLinks = new ArrayList<>();
    for (StoredEntry e : plan.entries()) {
      TreeNode<H> n = existing.get(e.path());
      if (e.kind() == EntryKind.FILE && e.attributes().containsKey(TreeAttributes.LINK)) {
        hardLinks.add(e);
        continue;
      }
      if (e.kind() == EntryKind.DIRECTORY) {
        continue;
      }
      if (n == null) {
        created++;
      }
      work.add(() -> {
        ctx.checkCancelled();
        if (e.kind() == EntryKind.FILE) {
          file(e, n);
        } else {
          symlink(e, n);
        }
        return null;
      });
    }
    Parallel.all(pool, work);
    int linked = 0;
    for (StoredEntry e : hardLinks) {
      ctx.checkCancelled();
      if (hardLink(e, existing.get(e.path()))) {
        linked++;
      }
    }

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
      handles.inDir(e.path(), dir -> {
        meta(dir, m, null, false, e.path());
        return null;
      });
    }
    meta(fs.root(), plan.root(), null, true, "");
    ctx.progress(total, total);
    return new Result(doomed.size(), created + linked, (int) filesWritten.get(), bytesWritten.get(),
        (int) unchanged.get(), (int) replaced.get(), linked);
  }

  /**
   * Reads and verifies every distinct chunk before the first change to the tree, so that a corrupt
   * checkpoint fails the restore and leaves the tree untouched (even where it already matches). {@link #run}
   * does it first unless it was done already (a driver may call it in {@code prepareRestore}, before any
   * member of the group is written).
   */
  public void verifyChunks() throws Exception {
    Map<String, ChunkRef> distinct = new HashMap<>();
    for (StoredEntry e : plan.entries()) {
      for (ChunkRef c : e.chunks()) {
        if (!state.isZero(c)) { // known by its id: there is nothing to read
          distinct.putIfAbsent(c.id(), c);
        }
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
    verified = true;
  }

  private void file(StoredEntry e, TreeNode<H> n) throws IOException {
    TreeAttributes.Meta m = TreeAttributes.meta(e.attributes(), "", e.path());
    if (n != null && untouched(n.attrs(), e)) {
      unchanged.incrementAndGet();
      progress(e.size());
      return; // still the very object we captured: nothing is written, not even metadata
    }
    if (n != null && ownedInPlace(n.attrs(), e)) {
      try {
        boolean wrote = writeDifferences(n.handle(), n.attrs(), e);
        meta(n.handle(), m, n.attrs(), !wrote, e.path());
        return;
      } catch (TreeFileException stale) {
        if (stale.reason() != Reason.STALE) {
          throw stale;
        }
        // the file we listed is gone from the server: whatever is under the name now gets replaced
      }
    }
    if (n == null) {
      try {
        H fh = handles.inDir(parentOf(e.path()),
            dir -> fs.createNew(dir, nameOf(e.path()), m.mode() | 0600, m.uid(), m.gid(), e.path()));
        writeAll(fh, e);
        meta(fh, m, null, false, e.path());
        return;
      } catch (TreeFileException exists) {
        if (exists.reason() != Reason.EXISTS) {
          throw exists;
        }
        // something appeared under the name since the walk: replace it like any file we do not own
      }
    }
    handles.inDir(parentOf(e.path()), dir -> {
      replace(dir, e, m);
      return null;
    });
  }

  /**
   * Whether writing into the existing file in place can only change this entry: a regular file with the
   * captured file id and no other name (a second link may be a file outside the tree, or another entry,
   * planted after the capture; a file id alone may have been reused by another file since).
   */
  private static boolean ownedInPlace(FileAttrs a, StoredEntry e) {
    return a.kind() == FileAttrs.Kind.FILE && a.nlink() == 1
        && Long.toString(a.fileid()).equals(e.attributes().get(TreeAttributes.FILEID));
  }

  /**
   * Writes the entry into a new file beside the existing one and renames it into place: the file that was
   * there loses this name and is otherwise left as it was (with its other links, if any).
   */
  private void replace(H dir, StoredEntry e, TreeAttributes.Meta m) throws IOException {
    byte[] temp = null;
    H fh = null;
    for (int attempt = 0; fh == null; attempt++) {
      byte[] name = StoredNames.bytesOf(TEMP_PREFIX + Long.toHexString(RANDOM.nextLong()));
      try {
        fh = fs.createNew(dir, name, m.mode() | 0600, m.uid(), m.gid(), e.path());
        temp = name;
      } catch (TreeFileException taken) {
        if (taken.reason() != Reason.EXISTS || attempt == 3) {
          throw taken;
        }
      }
    }
    try {
      writeAll(fh, e);
      meta(fh, m, null, false, e.path()); // before the rename: the entry appears whole, metadata included
      fs.rename(dir, temp, dir, nameOf(e.path()), e.path());
      temp = null;
      replaced.incrementAndGet();
    } finally {
      if (temp != null) {
        try {
          fs.remove(dir, temp, e.path());
        } catch (IOException | RuntimeException cleanup) {
          log.log(Level.WARNING, "{0}: could not remove the temporary file {1} beside {2}: {3}", fs.where(),
              StoredNames.printable(StoredNames.of(temp)), StoredNames.printable(e.path()), cleanup.getMessage());
        }
      }
    }
  }

  /**
   * Writes every chunk into a new, empty file and commits it. Blocks of zeros are skipped (the file keeps a
   * hole there) and the length set at the end, so that a sparse file comes back sparse.
   */
  private void writeAll(H fh, StoredEntry e) throws IOException {
    List<ChunkRef> chunks = e.chunks();
    if (chunks.size() == 1 && chunks.get(0).offset() == 0 && chunks.get(0).length() == e.size()) {
      // A small file is one chunk: written and made durable in one call when it has no hole to keep.
      ctx.checkCancelled();
      ByteBuffer data = state.read(chunks.get(0));
      if (!SparseWrites.hasZeroBlock(data)) {
        fs.writeDurably(fh, data, e.path());
        bytesWritten.addAndGet(e.size());
        progress(e.size());
        filesWritten.incrementAndGet();
        return;
      }
    }
    long end = 0;
    for (ChunkRef c : chunks) {
      ctx.checkCancelled();
      if (!state.isZero(c)) { // a zero chunk stays a hole: neither read nor scanned
        ByteBuffer data = state.read(c);
        end = Math.max(end, SparseWrites.writeNonZero(fs, fh, c.offset(), data, e.path()));
      }
      bytesWritten.addAndGet(c.length());
      progress(c.length());
    }
    if (end < e.size()) {
      fs.setattr(fh, SetAttrs.size(e.size()), e.path());
    }
    if (!chunks.isEmpty() || e.size() > 0) {
      fs.commit(fh, e.path()); // an empty file has nothing to make durable: its CREATE is
    }
    filesWritten.incrementAndGet();
  }

  /** Writes only the chunks that differ into the captured file itself; true when anything was written. */
  private boolean writeDifferences(H fh, FileAttrs current, StoredEntry e) throws IOException {
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
      fs.write(fh, c.offset(), state.read(c), e.path());
      bytesWritten.addAndGet(c.length());
      progress(c.length());
      wrote = true;
    }
    if (current.size() != e.size()) {
      fs.setattr(fh, SetAttrs.size(e.size()), e.path());
      wrote = true;
    }
    if (wrote) {
      fs.commit(fh, e.path());
      filesWritten.incrementAndGet();
    }
    return wrote;
  }

  private void symlink(StoredEntry e, TreeNode<H> n) throws IOException {
    H fh = n != null ? n.handle()
        : handles.inDir(parentOf(e.path()), dir -> fs.symlink(dir, nameOf(e.path()),
            StoredNames.bytesOf(e.attributes().get(TreeAttributes.TARGET)), e.path()));
    TreeAttributes.Meta m = TreeAttributes.meta(e.attributes(), "", e.path());
    try {
      // A symlink's mode means nothing; owner and times are worth a try (servers may refuse them).
      fs.setattr(fh, new SetAttrs(null, m.uid(), m.gid(), null, m.atime(), m.mtime()), e.path());
    } catch (TreeFileException refused) {
      log.log(Level.DEBUG, "{0}: owner/times refused on symlink {1}: {2}", fs.where(),
          StoredNames.printable(e.path()), refused.getMessage());
    }
  }

  /**
   * Gives the file restored under the entry's {@code link} path this entry's name too; true when a link was
   * made. What is under the name, unless it already is that file, loses the name first (never written).
   */
  private boolean hardLink(StoredEntry e, TreeNode<H> n) throws IOException {
    String primaryPath = e.attributes().get(TreeAttributes.LINK);
    TreeNode<H> primary = fs.lookupPath(primaryPath).filter(p -> p.attrs().kind() == FileAttrs.Kind.FILE)
        .orElseThrow(() -> new IOException(fs.where() + ": '" + StoredNames.printable(primaryPath)
            + "', restored a moment ago, is gone: cannot link '" + StoredNames.printable(e.path()) + "' to it"));
    Optional<TreeNode<H>> now = n == null ? Optional.empty()
        : handles.inDir(parentOf(e.path()), dir -> fs.lookup(dir, nameOf(e.path()), e.path()));
    if (now.isPresent() && now.get().attrs().fileid() == primary.attrs().fileid()
        && now.get().attrs().fsid() == primary.attrs().fsid()) {
      progress(0);
      return false; // already a name of that file
    }
    handles.inDir(parentOf(e.path()), dir -> {
      if (now.isPresent()) {
        fs.remove(dir, nameOf(e.path()), e.path());
      }
      fs.link(primary.handle(), dir, nameOf(e.path()), e.path());
      return null;
    });
    return true;
  }

  /** Sets mode, owner and times; skips what already matches when {@code current} is known and unwritten. */
  private void meta(H fh, TreeAttributes.Meta m, FileAttrs current, boolean trustCurrent, String path)
      throws IOException {
    if (trustCurrent && current != null && current.mode() == m.mode() && current.uid() == m.uid()
        && current.gid() == m.gid() && millis(current.mtime()) == millis(m.mtime())
        && millis(current.atime()) == millis(m.atime())) {
      return;
    }
    fs.setattr(fh, new SetAttrs(m.mode(), m.uid(), m.gid(), null, m.atime(), m.mtime()), path);
  }

  private int readFully(H fh, long offset, byte[] buf, int length, String path) throws IOException {
    int got = 0;
    while (got < length) {
      TreeFiles.Read r = fs.read(fh, offset + got, buf, got, length - got, path);
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

  private static boolean untouched(FileAttrs a, StoredEntry e) {
    Map<String, String> at = e.attributes();
    return a.kind() == FileAttrs.Kind.FILE && Long.toString(a.fileid()).equals(at.get(TreeAttributes.FILEID))
        && a.size() == e.size()
        && Long.toString(a.mtime()).equals(at.get(TreeAttributes.MTIME))
        && Long.toString(a.ctime()).equals(at.get(TreeAttributes.CTIME));
  }

  private static boolean sameKind(TreeNode<?> n, StoredEntry e) {
    return switch (n.attrs().kind()) {
      case FILE -> e.kind() == EntryKind.FILE;
      case DIRECTORY -> e.kind() == EntryKind.DIRECTORY;
      case SYMLINK -> e.kind() == EntryKind.SYMLINK;
      case OTHER -> false;
    };
  }

  private boolean sameTarget(TreeNode<H> n, StoredEntry e) throws IOException {
    return StoredNames.of(fs.readlink(n.handle(), n.path())).equals(e.attributes().get(TreeAttributes.TARGET));
  }

  /**
   * Removes an entry the walk listed. NOT_FOUND is not taken on trust (a name that does not reach the tree
   * as listed would otherwise leave the entry in place, reported as removed): it passes only when a lookup
   * of the same name in the directory, looked up afresh, confirms that nothing is there any more.
   */
  private void removeListed(TreeNode<H> n) throws IOException {
    String parent = parentOf(n.path());
    try {
      handles.inDir(parent, dir -> {
        if (n.attrs().kind() == FileAttrs.Kind.DIRECTORY) {
          fs.rmdir(dir, n.name(), n.path());
        } else {
          fs.remove(dir, n.name(), n.path());
        }
        return null;
      });
    } catch (TreeFileException e) {
      if (e.reason() != Reason.NOT_FOUND) {
        throw e;
      }
      Optional<TreeNode<H>> still = fs.lookupPath(n.path());
      if (still.isPresent()) {
        throw new IOException(fs.where() + ": '" + StoredNames.printable(n.path()) + "' is listed and found by "
            + "lookup, but the tree says it does not exist when asked to remove it", e);
      }
      log.log(Level.DEBUG, "{0}: {1} went away before the restore removed it", fs.where(),
          StoredNames.printable(n.path()));
    }
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }

  private static byte[] nameOf(String path) {
    return StoredNames.bytesOf(path.substring(path.lastIndexOf('/') + 1));
  }

  private static long millis(long nanos) {
    return Math.floorDiv(nanos, 1_000_000L);
  }
}
