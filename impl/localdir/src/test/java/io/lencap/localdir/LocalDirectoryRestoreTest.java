package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import io.lencap.tree.TreeRestore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Restore: stored paths are untrusted and nothing may be written outside the target tree, or at all when
 * an entry is bad; the restore is differential and never follows a symlink.
 */
class LocalDirectoryRestoreTest {
  /** sandbox/target/root is restored onto; sandbox/outside must never change. */
  @TempDir
  Path sandbox;
  private Path root;
  private Path outside;
  private final LocalDirectoryProvider provider = new LocalDirectoryProvider();
  private final MemoryState.Chunks chunks = new MemoryState.Chunks();

  @BeforeEach
  void layout() throws Exception {
    root = Files.createDirectories(sandbox.resolve("target/root"));
    Files.writeString(root.resolve("keep.txt"), "already in the target");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("sub/f.txt"), "also in the target");
    outside = Files.createDirectories(sandbox.resolve("outside"));
    Files.writeString(outside.resolve("secret.txt"), "must not change");
  }

  /** One crafted checkpoint: entries written in order through the memory state. */
  private interface Craft {
    void into(MemoryState s) throws Exception;
  }

  static Stream<Arguments> hostileCheckpoints() {
    return Stream.of(
        Arguments.of("dot-dot file", (Craft) s -> file(s, "../x", "pwned"), "entry '../x': name '..' would leave"),
        Arguments.of("dot-dot onto a file outside", (Craft) s -> file(s, "../../outside/secret.txt", "pwned"),
            "name '..' would leave"),
        Arguments.of("empty segment", (Craft) s -> {
          dir(s, "a");
          file(s, "a//b", "pwned");
        }, "entry 'a//b': empty name"),
        Arguments.of("trailing slash", (Craft) s -> file(s, "keep.txt/", "pwned"), "empty name"),
        Arguments.of("dot segment", (Craft) s -> {
          dir(s, "a");
          file(s, "a/./b", "pwned");
        }, "name '.' would leave or alias"),
        Arguments.of("empty path", (Craft) s -> file(s, "", "pwned"), "an entry has an empty path"),
        Arguments.of("symlink out, then a file under it", (Craft) s -> {
          link(s, "link", "../../outside");
          file(s, "link/pwned", "pwned");
        }, "entry 'link"), // its parent is a symlink, or the symlink leads out: whichever is checked first
        Arguments.of("symlink out, then a directory and a file under it", (Craft) s -> {
          link(s, "l", "../../outside");
          dir(s, "l/d");
          file(s, "l/d/f", "pwned");
        }, "entry 'l"),
        Arguments.of("file under a file", (Craft) s -> {
          file(s, "f", "a file");
          file(s, "f/g", "pwned");
        }, "entry 'f/g': its parent 'f' is not a directory"),
        Arguments.of("parent directory missing", (Craft) s -> file(s, "nodir/f", "pwned"),
            "entry 'nodir/f': its parent 'nodir' is not a directory of the checkpoint"),
        Arguments.of("good entries first, the bad one last", (Craft) s -> {
          dir(s, "good");
          file(s, "good/file", "fine");
          file(s, "keep.txt", "would overwrite");
          file(s, "../x", "pwned");
        }, "entry '../x': name '..' would leave"),
        Arguments.of("the quiesce marker", (Craft) s -> file(s, LocalDirectoryProvider.QUIESCE_MARKER, "x"),
            "quiesce marker"),
        Arguments.of("chunks not adding up to the size", (Craft) s -> {
          file(s, "whole", "some content");
          StoredEntry e = s.seal().entry("whole").orElseThrow();
          s.reuse(new StoredEntry("whole", EntryKind.FILE, e.size() + 10, e.attributes(), e.chunks()));
        }, "chunks cover"),
        Arguments.of("symlink without a target", (Craft) s -> s.entry("l", EntryKind.SYMLINK, META),
            "a symlink without a target"),
        Arguments.of("symlink leading out", (Craft) s -> link(s, "up", "../../outside"), "leads outside"),
        Arguments.of("absolute symlink", (Craft) s -> link(s, "abs", "/etc"), "absolute symlink target"),
        Arguments.of("mode out of range", (Craft) s -> {
          file(s, "a.txt", "fine");
          Map<String, String> bad = new HashMap<>(META);
          bad.put("mode", "177777");
          s.entry("d", EntryKind.DIRECTORY, bad);
        }, "entry 'd': attribute 'mode'"),
        Arguments.of("time not a number", (Craft) s -> {
          file(s, "a.txt", "fine");
          Map<String, String> bad = new HashMap<>(META);
          bad.put("mtime", "yesterday");
          s.entry("b.txt", EntryKind.FILE, bad);
        }, "entry 'b.txt': attribute 'mtime'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostileCheckpoints")
  void aHostileCheckpointIsRefusedBeforeAnythingIsWritten(String name, Craft craft, String expected)
      throws Exception {
    MemoryState s = state("evil");
    craft.into(s);
    StoredState state = s.seal();
    Map<String, String> before = TreeState.inventory(sandbox);

    CorruptCheckpointException inPrepare = assertThrows(CorruptCheckpointException.class,
        () -> withDriver(d -> d.prepareRestore(context(state))));
    assertTrue(inPrepare.getMessage().contains(expected), inPrepare.getMessage());
    assertEquals("evil", inPrepare.checkpointId());
    // restore() checks again on its own, for an engine that would skip prepareRestore.
    CorruptCheckpointException inRestore = assertThrows(CorruptCheckpointException.class,
        () -> withDriver(d -> d.restore(context(state))));
    assertTrue(inRestore.getMessage().contains(expected), inRestore.getMessage());

    assertEquals(before, TreeState.inventory(sandbox), "something inside or outside the tree changed");
    assertFalse(Files.exists(sandbox.resolve("target/x"), LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void anAbsolutePathIsRefused() throws Exception {
    MemoryState s = state("evil");
    file(s, outside.resolve("abs.txt").toString(), "pwned");
    Map<String, String> before = TreeState.inventory(sandbox);
    StoredState state = s.seal();
    assertThrows(CorruptCheckpointException.class, () -> withDriver(d -> d.restore(context(state))));
    assertEquals(before, TreeState.inventory(sandbox));
  }

  @Test
  void etcPasswdIsRefusedInPrepareRestore() throws Exception {
    Path passwd = Path.of("/etc/passwd");
    String hash = TreeState.sha256(passwd);
    FileTime mtime = Files.getLastModifiedTime(passwd);
    MemoryState s = state("evil");
    file(s, "/etc/passwd", "root::0:0::/root:/bin/sh\n");
    StoredState state = s.seal();
    // prepareRestore only: should the check ever regress, this test must not be the one that writes /etc/passwd.
    CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
        () -> withDriver(d -> d.prepareRestore(context(state))));
    assertTrue(e.getMessage().contains("entry '/etc/passwd': absolute paths are not allowed"), e.getMessage());
    assertEquals(hash, TreeState.sha256(passwd));
    assertEquals(mtime, Files.getLastModifiedTime(passwd));
  }

  @Test
  void aSymlinkInTheTargetWhereTheCheckpointHasADirectoryIsReplacedNotFollowed() throws Exception {
    Files.writeString(root.resolve("sub/f.txt"), "gone soon");
    deleteTree(root.resolve("sub"));
    Files.createSymbolicLink(root.resolve("sub"), Path.of("../../outside"));
    Map<String, String> outsideBefore = TreeState.inventory(outside);
    MemoryState s = state("cp");
    dir(s, "sub");
    file(s, "sub/secret.txt", "restored inside the tree");
    StoredState state = s.seal();
    withDriver(d -> {
      d.prepareRestore(context(state));
      d.restore(context(state));
    });
    assertTrue(Files.isDirectory(root.resolve("sub"), LinkOption.NOFOLLOW_LINKS));
    assertEquals("restored inside the tree", Files.readString(root.resolve("sub/secret.txt")));
    assertEquals(outsideBefore, TreeState.inventory(outside));
  }

  @Test
  void anExtraneousSymlinkIsRemovedItselfNotWhatItPointsTo() throws Exception {
    Files.createSymbolicLink(root.resolve("link"), Path.of("../../outside"));
    Map<String, String> outsideBefore = TreeState.inventory(outside);
    MemoryState s = state("cp");
    file(s, "only.txt", "the whole checkpoint");
    StoredState state = s.seal();
    withDriver(d -> d.restore(context(state)));
    try (Stream<Path> left = Files.list(root)) {
      assertEquals(List.of(root.resolve("only.txt")), left.toList());
    }
    assertEquals(outsideBefore, TreeState.inventory(outside));
  }

  @Test
  void aHardLinkPlantedToAFileOutsideIsReplacedNeitherWrittenNorChmodded() throws Exception {
    // keep.txt is captured with the very content of the file outside, but another mode and time.
    Files.writeString(root.resolve("keep.txt"), Files.readString(outside.resolve("secret.txt")));
    Files.setPosixFilePermissions(root.resolve("keep.txt"), PosixFilePermissions.fromString("rw-rw-rw-"));
    Files.setLastModifiedTime(root.resolve("keep.txt"), FileTime.fromMillis(1_000_000_000_000L));
    MemoryState sink = new MemoryState(chunks, "cp1");
    capture(tree(root), sink);
    StoredState state = sink.seal();
    Map<String, String> captured = TreeState.fingerprint(root);
    Files.delete(root.resolve("keep.txt"));
    Files.createLink(root.resolve("keep.txt"), outside.resolve("secret.txt"));
    Map<String, String> outsideBefore = TreeState.inventory(outside);

    withDriver(d -> {
      d.prepareRestore(context(state));
      d.restore(context(state));
    });

    assertEquals(outsideBefore, TreeState.inventory(outside));
    assertEquals(captured, TreeState.fingerprint(root));
    assertEquals(1, Files.getAttribute(root.resolve("keep.txt"), "unix:nlink", LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void restoreRewritesOnlyWhatDiffers() throws Exception {
    deleteTree(root);
    SampleTree.create(root, 7);
    Resource r = tree(root);
    MemoryState sink = new MemoryState(chunks, "cp1");
    capture(r, sink);
    StoredState state = sink.seal();
    Map<String, String> captured = TreeState.fingerprint(root);

    Files.writeString(root.resolve("docs/note-7.txt"), "edited");
    Path big = root.resolve(SampleTree.BIG);
    FileTime bigTime = Files.getLastModifiedTime(big);
    byte[] content = Files.readAllBytes(big);
    content[content.length / 2] ^= 1; // same size and time, other content: only the hashes tell
    Files.write(big, content);
    Files.setLastModifiedTime(big, bigTime);
    Files.delete(root.resolve("docs/note-8.txt"));
    Files.writeString(root.resolve("a/extra.txt"), "not in the checkpoint");
    Files.setPosixFilePermissions(root.resolve("docs/note-5.txt"), PosixFilePermissions.fromString("rw-rw-rw-"));
    Map<String, String> before = TreeState.inventory(root);
    long bigSize = Files.size(big);

    TreeRestore.Result done = restoreWithDriver(state);

    assertEquals(captured, TreeState.fingerprint(root));
    Map<String, String> after = TreeState.inventory(root);
    // The captured files themselves (one name each) are rewritten in place, chunk by chunk: every file keeps
    // its inode; note-7 and the big file are written, note-8 is created again, the rest is left alone.
    for (String path : captured.keySet()) {
      if (captured.get(path).startsWith("file ") && before.containsKey(path)) {
        assertEquals(key(before.get(path)), key(after.get(path)), path + " was replaced, not restored in place");
      }
    }
    assertEquals(3, done.filesWritten(), done.toString());
    assertTrue(done.bytesWritten() < bigSize / 2, "the big file was written whole, not its one changed chunk: " + done);
    assertTrue(after.containsKey("docs/note-8.txt"));
    assertFalse(after.containsKey("a/extra.txt"));
    try (Stream<Path> all = Files.walk(root)) {
      assertTrue(all.noneMatch(p -> p.getFileName().toString().startsWith(".lencap-restore-")), "temp file left");
    }
  }

  @Test
  void aCorruptChunkFailsPrepareRestoreAndChangesNothing() throws Exception {
    MemoryState sink = new MemoryState(chunks, "cp1");
    capture(tree(root), sink);
    StoredState state = sink.seal();
    Files.writeString(root.resolve("keep.txt"), "changed since");
    Map<String, String> before = TreeState.inventory(sandbox);
    String victim = state.entry("sub/f.txt").orElseThrow().chunks().get(0).id();
    chunks.corrupt(victim);
    CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
        () -> withDriver(d -> d.prepareRestore(context(state))));
    assertEquals(victim, e.chunkId());
    assertEquals(before, TreeState.inventory(sandbox));
  }

  @Test
  void restoresOntoAnotherDirectoryThatDoesNotExistYet() throws Exception {
    SampleTree.create(root.resolve("data"), 9);
    MemoryState sink = new MemoryState(chunks, "cp1");
    capture(tree(root), sink);
    StoredState state = sink.seal();
    Path elsewhere = sandbox.resolve("other/host/tree");
    Resource target = tree(elsewhere);
    try (ResourceDriver d = provider.open(target, ResourceProviderContract.providerContext(sandbox))) {
      TckRestoreContext ctx = new TckRestoreContext(tree(root), target, state);
      d.prepareRestore(ctx);
      assertFalse(Files.exists(elsewhere), "prepareRestore must change nothing");
      d.restore(ctx);
    }
    assertEquals(TreeState.fingerprint(root), TreeState.fingerprint(elsewhere));
  }

  // ---- helpers

  private interface DriverAction {
    void run(ResourceDriver d) throws Exception;
  }

  private TreeRestore.Result restoreWithDriver(StoredState state) throws Exception {
    try (LocalDirectoryDriver d = (LocalDirectoryDriver) provider.open(tree(root),
        ResourceProviderContract.providerContext(sandbox))) {
      d.prepareRestore(context(state));
      d.restore(context(state));
      return d.lastRestore();
    }
  }

  private void withDriver(DriverAction action) throws Exception {
    try (ResourceDriver d = provider.open(tree(root), ResourceProviderContract.providerContext(sandbox))) {
      action.run(d);
    }
  }

  private TckRestoreContext context(StoredState state) {
    return new TckRestoreContext(tree(root), tree(root), state);
  }

  private static Resource tree(Path dir) {
    return Resource.of("tree", ResourceType.FILE_TREE, dir.toUri().toString());
  }

  private void capture(Resource r, MemoryState sink) throws Exception {
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", Optional.empty(), sink);
    try (ResourceDriver d = provider.open(r, ResourceProviderContract.providerContext(sandbox))) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      d.release(cut);
    }
  }

  private static String key(String inventoryLine) {
    return inventoryLine.substring(inventoryLine.indexOf(" key "));
  }

  /** Valid metadata in the tree format: mode, owner, times (ns), file id. */
  static final Map<String, String> META = Map.of("mode", "644", "uid", "0", "gid", "0", "atime",
      "1600000000000000000", "mtime", "1600000000000000000", "ctime", "1600000000000000000", "fileid", "0");

  /** An empty crafted state with the root's metadata. */
  private MemoryState state(String checkpointId) {
    MemoryState s = new MemoryState(chunks, checkpointId);
    META.forEach((k, v) -> s.attribute("root." + k, k.equals("mode") ? "755" : v));
    return s;
  }

  static void file(MemoryState s, String path, String content) throws Exception {
    try (EntryWriter w = s.create(path, EntryKind.FILE, META, Chunking.contentDefined())) {
      w.write(content.getBytes(StandardCharsets.UTF_8), 0, content.length());
    }
  }

  static void dir(MemoryState s, String path) throws Exception {
    s.entry(path, EntryKind.DIRECTORY, META);
  }

  static void link(MemoryState s, String path, String target) throws Exception {
    Map<String, String> m = new HashMap<>(META);
    m.put("target", target);
    s.entry(path, EntryKind.SYMLINK, m);
  }

  private static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
