package io.lencap.nfs;

import io.lencap.nfs.NfsSession.Node;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
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
 */
final class TreeCapture {
  static final Chunking CHUNKING = Chunking.contentDefined();

  /**
   * How recent a change may be for a copy to be trusted without the final pass reading it again: file times
   * tick coarsely (a few ms on Linux) and the server's clock may differ from ours, so a file changed again
   * within the same tick while we read it would look unchanged. Such "racily clean" files are re-read.
   */
  static final long RACY_MILLIS = 2_000;

  private final Map<String, Attrs> written = new ConcurrentHashMap<>();
  private final Set<String> racy = ConcurrentHashMap.newKeySet();
  private final java.time.Clock clock;
  private final Map<Long, StoredEntry> parentFiles = new HashMap<>();
  private final Map<String, StoredEntry> parentLinks = new HashMap<>();

  /** What one pass did, for notes and benchmarks. */
  record Pass(int entries, int changed, int filesRead, long bytesRead, int filesReused, int removed,
      int skippedSpecial, long listMillis, long totalMillis) {}

  /**
   * @param parent this member's state in the parent checkpoint
   * @param fsid the file system being captured: file ids of another file system mean nothing here
   */
  TreeCapture(Optional<StoredState> parent, long fsid, java.time.Clock clock) {
    this.clock = clock;
    if (parent.isEmpty() || !Long.toString(fsid).equals(parent.get().attributes().get(TreeAttributes.FSID))) {
      return;
    }
    for (StoredEntry e : parent.get().entries()) {
      if (e.kind() == EntryKind.FILE) {
        e.attribute(TreeAttributes.FILEID).ifPresent(id -> parentFiles.put(parseOr(id), e));
      } else if (e.kind() == EntryKind.SYMLINK) {
        parentLinks.put(e.path(), e);
      }
    }
  }

  Pass pass(NfsSession s, CaptureContext ctx, ExecutorService pool) throws Exception {
    long start = System.nanoTime();
    long racyAfterNanos = (clock.millis() - RACY_MILLIS) * 1_000_000L;
    StateSink sink = ctx.state();
    Attrs root = s.getattr(s.root(), "");
    sink.attribute(TreeAttributes.FORMAT, TreeAttributes.FORMAT_VALUE);
    sink.attribute(TreeAttributes.FSID, Long.toString(root.fsid()));
    TreeAttributes.of(root).forEach((k, v) -> sink.attribute(TreeAttributes.ROOT + k, v));

    List<Node> nodes = TreeWalker.walk(s, pool, ctx::isCancelled);
    long listed = System.nanoTime();
    Set<String> seen = new HashSet<>(nodes.size() * 2);
    List<Callable<Void>> reads = new ArrayList<>();
    AtomicLong bytesRead = new AtomicLong();
    int changed = 0;
    int reused = 0;
    int special = 0;
    int fileReads = 0;
    long toRead = 0;
    for (Node n : nodes) {
      Attrs a = n.attrs();
      if (a.kind() == Attrs.Kind.OTHER) {
        special++;
        continue;
      }
      seen.add(n.path());
      if (a.sameAs(written.get(n.path())) && !racy.contains(n.path())) {
        continue;
      }
      changed++;
      switch (a.kind()) {
        case DIRECTORY -> {
          sink.entry(n.path(), EntryKind.DIRECTORY, TreeAttributes.of(a));
          written.put(n.path(), a);
        }
        case SYMLINK -> reads.add(() -> {
          link(s, sink, n);
          return null;
        });
        case FILE -> {
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
              if (copy(s, sink, n, bytesRead)) {
                written.put(n.path(), a);
                if (a.ctime() >= racyAfterNanos || a.mtime() >= racyAfterNanos) {
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
    if (special > 0) {
      ctx.note(special + " special files (devices, FIFOs, sockets) were skipped");
    }
    return new Pass(nodes.size() - special, changed + removed, fileReads, bytesRead.get(), reused, removed, special,
        (listed - start) / 1_000_000, (System.nanoTime() - start) / 1_000_000);
  }

  /** Entries this capture holds, by path (for tests). */
  Set<String> writtenPaths() {
    return Set.copyOf(written.keySet());
  }

  private void forget(StateSink sink, String path) {
    written.remove(path);
    racy.remove(path);
    sink.remove(path);
  }

  private void link(NfsSession s, StateSink sink, Node n) throws IOException {
    Attrs a = n.attrs();
    StoredEntry p = parentLinks.get(n.path());
    String target;
    if (p != null && Long.toString(a.fileid()).equals(p.attributes().get(TreeAttributes.FILEID))
        && Long.toString(a.ctime()).equals(p.attributes().get(TreeAttributes.CTIME))
        && p.attributes().containsKey(TreeAttributes.TARGET)) {
      target = p.attributes().get(TreeAttributes.TARGET); // a symlink's target never changes in place
    } else {
      try {
        target = s.readlink(n.handle(), n.path());
      } catch (IOException e) {
        if (NfsSession.vanished(e)) {
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
  private static boolean copy(NfsSession s, StateSink sink, Node n, AtomicLong bytesRead) throws IOException {
    EntryWriter w = sink.create(n.path(), EntryKind.FILE, TreeAttributes.of(n.attrs()), CHUNKING);
    byte[] buf = new byte[(int) Math.min(NfsSession.READ_SIZE, Math.max(4096, n.attrs().size()))];
    long off = 0;
    try {
      while (true) {
        NfsSession.Read r = s.read(n.handle(), off, buf, buf.length, n.path());
        if (r.bytes() > 0) {
          w.write(buf, 0, r.bytes());
          off += r.bytes();
        }
        if (r.eof() || r.bytes() == 0) {
          break;
        }
      }
    } catch (IOException e) {
      if (NfsSession.vanished(e)) {
        return false;
      }
      throw e;
    }
    w.close();
    bytesRead.addAndGet(off);
    return true;
  }

  /**
   * Whether the file under this file id is still the parent's entry: size and mtime alone are not enough,
   * since a same-size rewrite can put the old mtime back ({@code cp -p}, {@code touch -r}); the ctime cannot
   * be set back, so it catches that.
   */
  static boolean unchangedSince(StoredEntry parent, Attrs a) {
    Map<String, String> p = parent.attributes();
    return parent.size() == a.size() && Long.toString(a.fileid()).equals(p.get(TreeAttributes.FILEID))
        && Long.toString(a.mtime()).equals(p.get(TreeAttributes.MTIME))
        && Long.toString(a.ctime()).equals(p.get(TreeAttributes.CTIME));
  }

  private static long parseOr(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
