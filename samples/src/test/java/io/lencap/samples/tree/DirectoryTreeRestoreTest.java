package io.lencap.samples.tree;

import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import io.lencap.api.CaptureMode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
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
class DirectoryTreeRestoreTest {
  /** sandbox/target/root is restored onto; sandbox/outside must never change. */
  @TempDir
  Path sandbox;
  private Path root;
  private Path outside;
  private final DirectoryTreeProvider provider = new DirectoryTreeProvider();
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
        Arguments.of("dot-dot file", (Craft) s -> file(s, "../x", "pwned"), "'../x' has a '..' segment"),
        Arguments.of("dot-dot onto a file outside", (Craft) s -> file(s, "../../outside/secret.txt", "pwned"),
            "has a '..' segment"),
        Arguments.of("empty segment", (Craft) s -> {
          dir(s, "a");
          file(s, "a//b", "pwned");
        }, "'a//b' has an empty segment"),
        Arguments.of("trailing slash", (Craft) s -> file(s, "keep.txt/", "pwned"), "has an empty segment"),
        Arguments.of("dot segment", (Craft) s -> {
          dir(s, "a");
          file(s, "a/./b", "pwned");
        }, "has a '.' segment"),
        Arguments.of("empty path", (Craft) s -> file(s, "", "pwned"), "'' is empty"),
        Arguments.of("symlink out, then a file under it", (Craft) s -> {
          link(s, "link", "../../outside");
          file(s, "link/pwned", "pwned");
        }, "its parent 'link' is a symlink"),
        Arguments.of("symlink out, then a directory and a file under it", (Craft) s -> {
          link(s, "l", "../../outside");
          dir(s, "l/d");
          file(s, "l/d/f", "pwned");
        }, "is a symlink"),
        Arguments.of("file under a file", (Craft) s -> {
          file(s, "f", "a file");
          file(s, "f/g", "pwned");
        }, "its parent 'f' is a file"),
        Arguments.of("parent directory missing", (Craft) s -> file(s, "nodir/f", "pwned"),
            "its parent directory 'nodir' is not in the checkpoint"),
        Arguments.of("good entries first, the bad one last", (Craft) s -> {
          dir(s, "good");
          file(s, "good/file", "fine");
          file(s, "keep.txt", "would overwrite");
          file(s, "../x", "pwned");
        }, "'../x' has a '..' segment"),
        Arguments.of("the quiesce marker", (Craft) s -> file(s, DirectoryTreeProvider.QUIESCE_MARKER, "x"),
            "quiesce marker"),
        Arguments.of("chunks not adding up to the size", (Craft) s -> {
          file(s, "whole", "some content");
          StoredEntry e = s.seal().entry("whole").orElseThrow();
          s.reuse(new StoredEntry("whole", EntryKind.FILE, e.size() + 10, e.attributes(), e.chunks()));
        }, "adding up to"),
        Arguments.of("symlink without a target", (Craft) s -> s.entry("l", EntryKind.SYMLINK, Map.of()),
            "without a valid 'target'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostileCheckpoints")
  void aHostileCheckpointIsRefusedBeforeAnythingIsWritten(String name, Craft craft, String expected)
      throws Exception {
    MemoryState s = new MemoryState(chunks, "evil");
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
    MemoryState s = new MemoryState(chunks, "evil");
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
    MemoryState s = new MemoryState(chunks, "evil");
    file(s, "/etc/passwd", "root::0:0::/root:/bin/sh\n");
    StoredState state = s.seal();
    // prepareRestore only: should the check ever regress, this test must not be the one that writes /etc/passwd.
    CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class,
        () -> withDriver(d -> d.prepareRestore(context(state))));
    assertTrue(e.getMessage().contains("'/etc/passwd' is absolute"), e.getMessage());
    assertEquals(hash, TreeState.sha256(passwd));
    assertEquals(mtime, Files.getLastModifiedTime(passwd));
  }

  @Test
  void aSymlinkInTheTargetWhereTheCheckpointHasADirectoryIsReplacedNotFollowed() throws Exception {
    Files.writeString(root.resolve("sub/f.txt"), "gone soon");
    deleteTree(root.resolve("sub"));
    Files.createSymbolicLink(root.resolve("sub"), Path.of("../../outside"));
    Map<String, String> outsideBefore = TreeState.inventory(outside);
    MemoryState s = new MemoryState(chunks, "cp");
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
    MemoryState s = new MemoryState(chunks, "cp");
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

    withDriver(d -> {
      d.prepareRestore(context(state));
      d.restore(context(state));
    });

    assertEquals(captured, TreeState.fingerprint(root));
    Map<String, String> after = TreeState.inventory(root);
    List<String> rewritten = List.of("docs/note-7.txt", SampleTree.BIG);
    for (String path : captured.keySet()) {
      if (!captured.get(path).startsWith("file ")) {
        continue;
      }
      if (rewritten.contains(path)) {
        assertNotEquals(key(before.get(path)), key(after.get(path)), path + " was not rewritten");
      } else if (before.containsKey(path)) {
        assertEquals(key(before.get(path)), key(after.get(path)), path + " was rewritten although it matched");
      }
    }
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

  private static void file(MemoryState s, String path, String content) throws Exception {
    try (EntryWriter w = s.create(path, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
      w.write(content.getBytes(StandardCharsets.UTF_8), 0, content.length());
    }
  }

  private static void dir(MemoryState s, String path) throws Exception {
    s.entry(path, EntryKind.DIRECTORY, Map.of());
  }

  private static void link(MemoryState s, String path, String target) throws Exception {
    s.entry(path, EntryKind.SYMLINK, Map.of(DirectoryTreeDriver.TARGET, target));
  }

  private static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
