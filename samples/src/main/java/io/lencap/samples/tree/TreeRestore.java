package io.lencap.samples.tree;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a validated {@link RestorePlan} onto a directory, differentially and without ever following a
 * symlink: removes what the checkpoint lacks (or has as another kind), creates directories parents first,
 * leaves files whose content matches alone (when they have no other link), writes the others to a temporary
 * file beside them and renames it over, recreates symlinks, and sets directory modes and times last
 * (children first), since writing into a directory changes its time. Assumes no one else renames things in
 * the tree meanwhile (the engine quiesces writers before a restore).
 */
final class TreeRestore {
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
  private static final String TEMP_PREFIX = ".lencap-restore-";

  private final Path root;
  private final RestorePlan plan;
  private final RestoreContext context;
  private final StoredState state;
  private final long totalBytes;
  private final boolean fsync;
  private long doneBytes;
  private int rewritten;
  private int unchanged;
  private int removed;
  private long bytesWritten;

  /** What a restore did. */
  record Result(int rewritten, int unchanged, int removed, long bytesWritten) {}

  TreeRestore(Path root, RestorePlan plan, RestoreContext context, boolean fsync) {
    this.root = root;
    this.fsync = fsync;
    this.plan = plan;
    this.context = context;
    this.state = context.state();
    this.totalBytes = plan.fileBytes();
  }

  Result run() throws IOException {
    Files.createDirectories(root);
    removeExtraneous();
    List<StoredEntry> directories = new ArrayList<>();
    for (StoredEntry e : plan.parentsFirst()) {
      context.checkCancelled();
      switch (e.kind()) {
        case DIRECTORY -> {
          directory(e);
          directories.add(e);
        }
        case FILE -> file(e);
        case SYMLINK -> symlink(e);
      }
    }
    for (int i = directories.size() - 1; i >= 0; i--) {
      StoredEntry d = directories.get(i);
      Path dir = resolve(d);
      applyMode(dir, d);
      applyTime(dir, d);
    }
    context.progress(totalBytes, totalBytes);
    return new Result(rewritten, unchanged, removed, bytesWritten);
  }

  /** Deletes, children first, every entry the checkpoint lacks or holds as another kind. */
  private void removeExtraneous() throws IOException {
    List<Map.Entry<String, PosixFileAttributes>> nodes = new ArrayList<>(TreeScan.of(root).nodes().entrySet());
    for (int i = nodes.size() - 1; i >= 0; i--) { // reverse order: a child's path sorts after its parent's
      String path = nodes.get(i).getKey();
      PosixFileAttributes now = nodes.get(i).getValue();
      StoredEntry wanted = plan.byPath().get(path);
      if (wanted == null || wanted.kind() != kindOf(now) || wanted.kind() == EntryKind.SYMLINK
          && !wanted.attributes().get(DirectoryTreeDriver.TARGET).equals(linkTarget(path))) {
        // Files.delete removes a symlink itself, never its target; a directory here is empty by now.
        Files.delete(root.resolve(path));
        removed++;
      }
    }
  }

  private void directory(StoredEntry e) throws IOException {
    Path dir = resolve(e);
    if (!Files.isDirectory(dir, NOFOLLOW)) {
      Files.deleteIfExists(dir); // anything else in the way (removed already, unless it just appeared)
      Files.createDirectory(dir);
    }
  }

  private void file(StoredEntry e) throws IOException {
    Path file = resolve(e);
    if (sameContent(file, e)) {
      unchanged++;
    } else {
      Path temp = Files.createTempFile(file.getParent(), TEMP_PREFIX, ".tmp");
      try {
        write(temp, e);
        applyMode(temp, e);
        applyTime(temp, e);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(temp);
      }
      rewritten++;
      bytesWritten += e.size();
    }
    applyMode(file, e);
    applyTime(file, e);
    doneBytes += e.size();
    context.progress(doneBytes, totalBytes);
  }

  private void symlink(StoredEntry e) throws IOException {
    Path link = resolve(e);
    if (!Files.isSymbolicLink(link)) {
      Files.deleteIfExists(link);
      Files.createSymbolicLink(link, link.getFileSystem().getPath(e.attributes().get(DirectoryTreeDriver.TARGET)));
    }
    applyTime(link, e);
  }

  /**
   * Whether the file at {@code file} is a regular file with no other name, holding exactly the entry's
   * chunks. A file with another link is never kept: the link may be planted to a file outside the tree,
   * whose mode and time the restore would then set.
   */
  private boolean sameContent(Path file, StoredEntry e) throws IOException {
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(file, PosixFileAttributes.class, NOFOLLOW);
    } catch (NoSuchFileException absent) {
      return false;
    }
    if (!a.isRegularFile() || a.size() != e.size()
        || ((Number) Files.getAttribute(file, "unix:nlink", NOFOLLOW)).intValue() != 1) {
      return false;
    }
    try (SeekableByteChannel in = Files.newByteChannel(file, Set.of(StandardOpenOption.READ, NOFOLLOW))) {
      ByteBuffer buffer = ByteBuffer.allocate(0);
      for (ChunkRef chunk : e.chunks()) {
        context.checkCancelled();
        if (buffer.capacity() < chunk.length()) {
          buffer = ByteBuffer.allocate(chunk.length());
        }
        buffer.clear().limit(chunk.length());
        while (buffer.hasRemaining() && in.read(buffer) >= 0) {
          // fill the chunk's length
        }
        if (!state.matches(chunk, buffer.flip())) {
          return false;
        }
      }
    }
    return true;
  }

  /** Streams the entry's verified content into a new file (made durable before the rename if asked). */
  private void write(Path temp, StoredEntry e) throws IOException {
    long n = 0;
    try (InputStream in = state.open(e);
        FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE, NOFOLLOW)) {
      byte[] buffer = new byte[256 * 1024];
      for (int r; (r = in.read(buffer)) >= 0; ) {
        context.checkCancelled();
        ByteBuffer b = ByteBuffer.wrap(buffer, 0, r);
        while (b.hasRemaining()) {
          out.write(b);
        }
        n += r;
      }
      if (fsync) {
        out.force(false);
      }
    }
    if (n != e.size()) {
      throw new CorruptCheckpointException(context.checkpointId(), context.captured().id(), "-", "entry '"
          + RestorePlan.printable(e.path()) + "' read back " + n + " bytes, not its size " + e.size());
    }
  }

  private void applyMode(Path p, StoredEntry e) throws IOException {
    String mode = e.attributes().get(FileStamp.MODE);
    if (mode == null) {
      return;
    }
    // NOFOLLOW: the JDK opens with O_NOFOLLOW and changes the mode through the descriptor.
    PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class, NOFOLLOW);
    var wanted = PosixFilePermissions.fromString(mode);
    if (!view.readAttributes().permissions().equals(wanted)) {
      view.setPermissions(wanted);
    }
  }

  private void applyTime(Path p, StoredEntry e) throws IOException {
    String mtime = e.attributes().get(FileStamp.MTIME);
    if (mtime == null) {
      return;
    }
    BasicFileAttributeView view = Files.getFileAttributeView(p, BasicFileAttributeView.class, NOFOLLOW);
    FileTime wanted = FileTime.from(Instant.parse(mtime));
    if (!Objects.equals(view.readAttributes().lastModifiedTime(), wanted)) {
      view.setTimes(wanted, null, null);
    }
  }

  private String linkTarget(String path) throws IOException {
    return Files.readSymbolicLink(root.resolve(path)).toString();
  }

  private Path resolve(StoredEntry e) {
    return root.resolve(e.path()); // safe: the plan admits only relative paths without '.' or '..'
  }

  private static EntryKind kindOf(PosixFileAttributes a) {
    if (a.isRegularFile()) {
      return EntryKind.FILE;
    }
    if (a.isDirectory()) {
      return EntryKind.DIRECTORY;
    }
    return a.isSymbolicLink() ? EntryKind.SYMLINK : null; // special files are never in a checkpoint
  }
}
