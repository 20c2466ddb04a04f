package io.lencap.tree;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a tree into a checkpoint in passes. Each pass lists the whole tree (metadata only) and writes just
 * what differs from what this capture already wrote: the first pass (the pre-copy, while the group runs)
 * writes everything, the final pass (inside the quiesce window) only what changed since, so the pause grows
 * with the change, not with the tree. A file whose file id, size, mtime and ctime equal an entry of the
 * parent checkpoint is taken from it without reading a byte (a renamed file too: matched by file id).
 *
 * <p>Files with several names in the tree (hard links: one file id) are stored once, under the first of
 * their paths in sort order; every other name is an entry without content whose attribute
 * {@value TreeAttributes#LINK} names that path, so that restore links them again.
 */
public final class TreeCapture<H> {
  static final Chunking CHUNKING = Chunking.contentDefined();
  private static final int READ_SIZE = 1024 * 1024;
  static final int PRECOPY_PASSES = 3;

  private final Map<String, FileAttrs> written = new ConcurrentHashMap<>();
  /** Paths written as hard links, with the path they link to. */
  private final Map<String, String> linkedTo = new ConcurrentHashMap<>();
  private final Set<String> racy = ConcurrentHashMap.newKeySet();
  private final Clock clock;
  private final long racyMillis;
  private final Map<Long, StoredEntry> parentFiles = new HashMap<>();
  private final Map<String, StoredEntry> parentLinks = new HashMap<>();

  /** What one pass did, for notes and benchmarks. */
  public record Pass(int entries, int changed, int filesRead, long bytesRead, int filesReused, int removed,
      int skippedSpecial, long listMillis, long totalMillis) {}

  /**
   * @param parent this member's state in the parent checkpoint
   * @param fsid the file system being captured: file ids of another file system mean nothing here
   * @param clock the wall clock, compared with the tree's file times
   * @param racyMillis how recent a change may be for a copy to be trusted without reading it again: file
   *     times tick coarsely and a server's clock may differ from ours, so a file changed again within the
   *     same tick while we read it would look unchanged. Such "racily clean" files are read again by the
   *     next pass, and not reused by the next capture.
   */
  public TreeCapture(Optional<StoredState> parent, long fsid, Clock clock, long racyMillis) {
    this.clock = clock;
    this.racyMillis = racyMillis;
    if (parent.isEmpty() || !Long.toString(fsid).equals(parent.get().attributes().get(TreeAttributes.FSID))) {
      return;
    }
    // Checkpoints from before "seen" was recorded are trusted as they were then.
    long trustedBefore = parseOr(parent.get().attributes().get(TreeAttributes.SEEN), Long.MAX_VALUE);
    for (StoredEntry e : parent.get().entries()) {
      if (e.kind() == EntryKind.FILE && !e.attributes().containsKey(TreeAttributes.LINK)
          && parseOr(e.attributes().get(TreeAttributes.MTIME), Long.MAX_VALUE) < trustedBefore
          && parseOr(e.attributes().get(TreeAttributes.CTIME), Long.MAX_VALUE) < trustedBefore) {
        e.attribute(TreeAttributes.FILEID).ifPresent(id -> parentFiles.put(parseOr(id, -1), e));
      } else if (e.kind() == EntryKind.SYMLINK) {
        parentLinks.put(e.path(), e);
      }
    }
  }

  /**
   * The pre-copy, while the group runs: a pass, repeated while the last one left racily clean files (changed shortly
   * before they were read) that are no longer recent and would take longer to read again than listing the tree, at
   * most {@value #PRECOPY_PASSES} passes. So a tree written just before the capture is read again before the pause,
   * not in it. Returns the last pass; a note says when there was more than one.
   */
  public Pass precopy(TreeFiles<H> files, CaptureContext ctx, ExecutorService pool) throws Exception {
    Pass p = pass(files, ctx, pool);
    int passes = 1;
    int reread = 0;
    for (List<FileAttrs> settled = settled(); passes < PRECOPY_PASSES && readMillis(settled, p) > p.listMillis();
        settled = settled()) {
      reread += settled.size();
      p = pass(files, ctx, pool);
      passes++;
    }
    if (passes > 1) {
      ctx.note("pre-copy in " + passes + " passes: " + reread + " files changed shortly before the first read them "
          + "were read again before the pause");
    }
    return p;
  }

  /** The racily clean files whose times, as listed, are no longer recent: a pass now would read and trust them. */
  private List<FileAttrs> settled() {
    long before = (clock.millis() - racyMillis) * 1_000_000L;
    return racy.stream().map(written::get)
        .filter(a -> a != null && a.ctime() < before && a.mtime() < before).toList();
  }

  /** How long reading {@code these} files would take at the rate {@code last} read. */
  private static long readMillis(List<FileAttrs> these, Pass last) {
    if (these.isEmpty() || last.filesRead() == 0) {
      return 0;
    }
    long bytes = these.stream().mapToLong(FileAttrs::size).sum();
    double share = Math.max((double) these.size() / last.filesRead(),
        last.bytesRead() == 0 ? 0 : (double) bytes / last.bytesRead());
    return (long) (share * (last.totalMillis() - last.listMillis()));
  }

  public Pass pass(TreeFiles<H> files, CaptureContext ctx, ExecutorService pool) throws Exception {
    long start = System.nanoTime();
    long trustedBefore = (clock.millis() - racyMillis) * 1_000_000L; // by the next capture: nothing changed since
    StateSink sink = ctx.state();
    FileAttrs root = files.getattr(files.root(), "");
    sink.attribute(TreeAttributes.FORMAT, TreeAttributes.FORMAT_VALUE);
    sink.attribute(TreeAttributes.FSID, Long.toString(root.fsid()));
    sink.attribute(TreeAttributes.SEEN, Long.toString(trustedBefore));
    TreeAttributes.of(root).forEach((k, v) -> sink.attribute(TreeAttributes.ROOT + k, v));

    List<TreeNode<H>> nodes = TreeWalker.walk(files, pool, ctx::isCancelled);
    long listed = System.nanoTime();
    Map<Long, String> firstName = firstNames(nodes);
    Set<String> seen = new HashSet<>(nodes.size() * 2);
    List<Callable<Void>> reads = new ArrayList<>();
    AtomicLong bytesRead = new AtomicLong();
    AtomicLong holes = new AtomicLong();
    int changed = 0;
    int reused = 0;
    List<String> special = new ArrayList<>();
    int fileReads = 0;
    long toRead = 0;
    for (TreeNode<H> n : nodes) {
      FileAttrs a = n.attrs();
      if (a.kind() == FileAttrs.Kind.OTHER) {
        special.add(n.path());
        continue;
      }
      seen.add(n.path());
      String primary = a.kind() == FileAttrs.Kind.FILE ? firstName.get(a.fileid()) : null;
      boolean link = primary != null && !primary.equals(n.path());
      if (a.sameAs(written.get(n.path())) && !racy.contains(n.path())
          && (link ? primary.equals(linkedTo.get(n.path())) : !linkedTo.containsKey(n.path()))) {
        continue;
      }
      changed++;
      switch (a.kind()) {
        case DIRECTORY -> {
          sink.entry(n.path(), EntryKind.DIRECTORY, TreeAttributes.of(a));
          written.put(n.path(), a);
        }
        case SYMLINK -> reads.add(() -> {
          symlink(files, sink, n);
          return null;
        });
        case FILE -> {
          if (link) {
            sink.entry(n.path(), EntryKind.FILE, TreeAttributes.hardLink(a, primary));
            written.put(n.path(), a);
            linkedTo.put(n.path(), primary);
            racy.remove(n.path());
            continue;
          }
          linkedTo.remove(n.path());
          StoredEntry p = parentFiles.get(a.fileid());
          if (p != null && unchangedSince(p, a)) {
            sink.reuse(new StoredEntry(n.path(), EntryKind.FILE, p.size(), TreeAttributes.of(a), p.chunks()));
            written.put(n.path(), a);
            racy.remove(n.path());
            reused++;
          } else {
            toRead += a.size();
            fileReads++;
            reads.add(() -> {
              ctx.checkCancelled();
              // Racy against the moment this file is read, not the pass's start: a change after the read stamps
              // the file at least then (less the clocks' skew, which the window covers). A tree written just
              // before a long pass is then not read twice.
              long racyAfter = (clock.millis() - racyMillis) * 1_000_000L;
              if (copy(files, sink, n, bytesRead, holes)) {
                written.put(n.path(), a);
                if (a.ctime() >= racyAfter || a.mtime() >= racyAfter) {
                  racy.add(n.path());
                } else {
                  racy.remove(n.path());
                }
              } else {
                forget(sink, n.path());
              }
              return null;
            });
          }
        }
        default -> throw new IllegalStateException(a.kind().toString());
      }
    }
    if (toRead > 0) {
      sink.expectBytes(toRead);
    }
    Parallel.all(pool, reads);
    int removed = 0;
    for (String path : List.copyOf(written.keySet())) {
      if (!seen.contains(path)) {
        forget(sink, path);
        removed++;
      }
    }
    if (holes.get() > 0) {
      ctx.note(holes.get() + " bytes of holes in sparse files taken as zeros, not read");
    }
    if (!special.isEmpty()) {
      ctx.note(special.size() + " special files (devices, FIFOs, sockets) were skipped: " + sample(special));
    }
    return new Pass(nodes.size() - special.size(), changed + removed, fileReads, bytesRead.get(), reused, removed,
        special.size(),
        (listed - start) / 1_000_000, (System.nanoTime() - start) / 1_000_000);
  }

  private static String sample(List<String> paths) {
    List<String> shown = paths.stream().limit(5).map(StoredNames::printable).toList();
    return paths.size() <= 5 ? shown.toString() : shown + " and " + (paths.size() - 5) + " more";
  }

  /** For each file id with more than one name in the listing, the name that holds the content. */
  private static <H> Map<Long, String> firstNames(List<TreeNode<H>> nodes) {
    Map<Long, String> first = new HashMap<>();
    for (TreeNode<H> n : nodes) {
      if (n.attrs().kind() == FileAttrs.Kind.FILE && n.attrs().nlink() > 1) {
        first.merge(n.attrs().fileid(), n.path(), (a, b) -> a.compareTo(b) <= 0 ? a : b);
      }
    }
    return first;
  }

  private void forget(StateSink sink, String path) {
    written.remove(path);
    linkedTo.remove(path);
    racy.remove(path);
    sink.remove(path);
  }

  private void symlink(TreeFiles<H> files, StateSink sink, TreeNode<H> n) throws IOException {
    FileAttrs a = n.attrs();
    StoredEntry p = parentLinks.get(n.path());
    String target;
    if (p != null && Long.toString(a.fileid()).equals(p.attributes().get(TreeAttributes.FILEID))
        && Long.toString(a.ctime()).equals(p.attributes().get(TreeAttributes.CTIME))
        && p.attributes().containsKey(TreeAttributes.TARGET)) {
      target = p.attributes().get(TreeAttributes.TARGET); // a symlink's target never changes in place
    } else {
      try {
        target = StoredNames.of(files.readlink(n.handle(), n.path()));
      } catch (IOException e) {
        if (TreeFileException.vanished(e)) {
          forget(sink, n.path());
          return;
        }
        throw e;
      }
    }
    sink.entry(n.path(), EntryKind.SYMLINK, TreeAttributes.symlink(a, target));
    written.put(n.path(), a);
  }

  /** Copies a file's bytes into a new entry; false when it vanished (the entry is then left unclosed). */
  private static <H> boolean copy(TreeFiles<H> files, StateSink sink, TreeNode<H> n, AtomicLong bytesRead,
      AtomicLong holes) throws IOException {
    EntryWriter w = sink.create(n.path(), EntryKind.FILE, TreeAttributes.of(n.attrs()), CHUNKING);
    byte[] buf = new byte[(int) Math.min(READ_SIZE, Math.max(4096, n.attrs().size()))];
    long off = 0;
    long skipped = 0;
    // A file of one read is read whole: asking where its data lies would cost more than reading a hole in it (a
    // tree of 20,000 small files would pay a few system calls each).
    boolean askHoles = n.attrs().size() > buf.length;
    try {
      while (true) {
        long data = askHoles ? files.dataFrom(n.handle(), off, n.attrs().size(), n.path()) : off;
        if (data > off) {
          w.zeros(data - off);
          skipped += data - off;
          off = data;
        }
        TreeFiles.Read r = files.read(n.handle(), off, buf, 0, buf.length, n.path());
        if (r.bytes() > 0) {
          w.write(buf, 0, r.bytes());
          off += r.bytes();
        }
        if (r.eof() || r.bytes() == 0) {
          break;
        }
      }
    } catch (IOException e) {
      if (TreeFileException.vanished(e)) {
        return false;
      }
      throw e;
    }
    w.close();
    bytesRead.addAndGet(off - skipped);
    holes.addAndGet(skipped);
    return true;
  }

  /**
   * Whether the file under this file id is still the parent's entry: size and mtime alone are not enough,
   * since a same-size rewrite can put the old mtime back ({@code cp -p}, {@code touch -r}); the ctime cannot
   * be set back, so it catches that.
   */
  static boolean unchangedSince(StoredEntry parent, FileAttrs a) {
    Map<String, String> p = parent.attributes();
    return parent.size() == a.size() && Long.toString(a.fileid()).equals(p.get(TreeAttributes.FILEID))
        && Long.toString(a.mtime()).equals(p.get(TreeAttributes.MTIME))
        && Long.toString(a.ctime()).equals(p.get(TreeAttributes.CTIME));
  }

  private static long parseOr(String s, long otherwise) {
    if (s == null) {
      return otherwise;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }
}
