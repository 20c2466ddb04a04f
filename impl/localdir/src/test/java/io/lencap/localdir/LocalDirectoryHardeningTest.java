package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore's defences against a hostile target tree (issue 15): no symlink followed on the way to an
 * object, even one planted while the restore runs; directories only ours (0700) until the end; every
 * entry's metadata checked before the first write; FIFOs in the way never opened.
 */
class LocalDirectoryHardeningTest {
  @TempDir
  Path sandbox;
  private Path root;
  private Path outside;
  private final MemoryState.Chunks chunks = new MemoryState.Chunks();

  @BeforeEach
  void layout() throws Exception {
    root = Files.createDirectories(sandbox.resolve("root"));
    outside = Files.createDirectories(sandbox.resolve("outside"));
    Files.writeString(outside.resolve("secret.txt"), "must not change");
  }

  @Test
  void aDirectoryReplacedByASymlinkDuringTheRestoreIsNotWrittenThrough() throws Exception {
    // "d-first.txt" is written after d is created and before "d/f.txt" (one thread; it sorts between them
    // by depth and by path alike); once it is written, d is swapped for a symlink to a directory outside,
    // as a hostile writer racing the restore would. (The samples' old provider wrote outside/f.txt here.)
    MemoryState s = state();
    LocalDirectoryRestoreTest.file(s, "d-first.txt", "first");
    LocalDirectoryRestoreTest.dir(s, "d");
    LocalDirectoryRestoreTest.file(s, "d/f.txt", "must land inside the tree or nowhere");
    StoredState state = s.seal();
    Map<String, String> outsideBefore = TreeState.inventory(outside);
    Runnable swap = () -> {
      try {
        if (Files.exists(root.resolve("d-first.txt"))
            && Files.isDirectory(root.resolve("d"), LinkOption.NOFOLLOW_LINKS)) {
          Files.move(root.resolve("d"), sandbox.resolve("moved-away"));
          Files.createSymbolicLink(root.resolve("d"), outside);
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    };
    Exception e = assertThrows(Exception.class, () -> restore(state, swap));
    assertTrue(e.getMessage().contains("'d'"), e.getMessage());
    assertEquals(outsideBefore, TreeState.inventory(outside), "written through the planted symlink");
    assertFalse(Files.exists(outside.resolve("f.txt")));
  }

  @Test
  void directoriesAreOnlyOursUntilTheRestoreIsDone() throws Exception {
    MemoryState s = state();
    Map<String, String> open = new HashMap<>(LocalDirectoryRestoreTest.META);
    open.put("mode", "777");
    s.entry("shared", io.lencap.spi.EntryKind.DIRECTORY, open);
    LocalDirectoryRestoreTest.file(s, "shared/f.txt", "written while the directory is still 0700");
    StoredState state = s.seal();
    List<String> modesWhileWriting = new CopyOnWriteArrayList<>();
    restore(state, () -> {
      try {
        if (Files.exists(root.resolve("shared"))) {
          modesWhileWriting.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("shared"))));
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertFalse(modesWhileWriting.isEmpty(), "no progress was reported while the files were written");
    assertEquals("rwx------", modesWhileWriting.get(0)); // the samples' old provider: rwxr-xr-x (the umask's)
    assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("shared"))));
  }

  @Test
  void aBadTimeOrModeOnTheLastEntryIsRefusedBeforeTheFirstWrite() throws Exception {
    Files.writeString(root.resolve("keep.txt"), "in the target before");
    MemoryState s = state();
    LocalDirectoryRestoreTest.file(s, "a.txt", "would be written first");
    LocalDirectoryRestoreTest.file(s, "keep.txt", "would overwrite");
    Map<String, String> bad = new HashMap<>(LocalDirectoryRestoreTest.META);
    bad.put("atime", "-");
    s.entry("z", io.lencap.spi.EntryKind.DIRECTORY, bad);
    StoredState state = s.seal();
    Map<String, String> before = TreeState.inventory(sandbox);
    Exception e = assertThrows(Exception.class, () -> restore(state, () -> {}));
    assertTrue(e.getMessage().contains("entry 'z': attribute 'atime'"), e.getMessage());
    assertEquals(before, TreeState.inventory(sandbox));
  }

  @Test
  void fifosInTheWayAreRemovedWithoutBeingOpened() throws Exception {
    mkfifo(root.resolve("data.txt")); // where the checkpoint has a file
    mkfifo(root.resolve("stray.pipe")); // not in the checkpoint
    MemoryState s = state();
    LocalDirectoryRestoreTest.file(s, "data.txt", "a file again");
    StoredState state = s.seal();
    // Opening a FIFO without a writer blocks for good: the restore must not come near that.
    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> restore(state, () -> {}));
    assertEquals("a file again", Files.readString(root.resolve("data.txt")));
    assertFalse(Files.exists(root.resolve("stray.pipe"), LinkOption.NOFOLLOW_LINKS));
  }

  // ---- helpers

  private MemoryState state() {
    MemoryState s = new MemoryState(chunks, "cp");
    LocalDirectoryRestoreTest.META.forEach((k, v) -> s.attribute("root." + k, k.equals("mode") ? "755" : v));
    return s;
  }

  /** Restores on one thread, running {@code onProgress} at each progress report. */
  private void restore(StoredState state, Runnable onProgress) throws Exception {
    Resource tree = Resource.of("tree", ResourceType.FILE_TREE, root.toUri().toString());
    RestoreContext ctx = new ResourceProviderContract.TckRestoreContext(tree, tree, state);
    try (ResourceDriver d = new LocalDirectoryDriver(tree, root, false, 1)) {
      RestoreContext watched = new Watched(ctx, onProgress);
      d.prepareRestore(watched);
      d.restore(watched);
    }
  }

  private static void mkfifo(Path p) throws Exception {
    Process mk = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
    assertTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, new String(mk.getInputStream().readAllBytes()));
  }

  /** A restore context that runs an action at each progress report. */
  private record Watched(RestoreContext inner, Runnable onProgress) implements RestoreContext {
    @Override
    public String encapsulation() {
      return inner.encapsulation();
    }

    @Override
    public String checkpointId() {
      return inner.checkpointId();
    }

    @Override
    public Resource captured() {
      return inner.captured();
    }

    @Override
    public Resource target() {
      return inner.target();
    }

    @Override
    public StoredState state() {
      return inner.state();
    }

    @Override
    public void progress(long bytesDone, long totalBytes) {
      onProgress.run();
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void checkCancelled() {}
  }
}
