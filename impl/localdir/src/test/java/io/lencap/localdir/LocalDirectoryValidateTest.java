package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No checkpoint is born unrestorable: the capture-side validation is the restore's own, and a tree that
 * restore accepts (a symlink loop is data: links are restored as links, never followed) goes through the
 * engine and back unchanged.
 */
class LocalDirectoryValidateTest {
  @TempDir
  Path sandbox;

  @Test
  void validateRefusesWhatPrepareRestoreRefusesWithTheSameMessage() throws Exception {
    Path root = Files.createDirectories(sandbox.resolve("tree"));
    Resource tree = Resource.of("tree", ResourceType.FILE_TREE, root.toUri().toString());
    MemoryState s = new MemoryState(new MemoryState.Chunks(), "cp");
    LocalDirectoryRestoreTest.META.forEach((k, v) -> s.attribute("root." + k, v));
    LocalDirectoryRestoreTest.link(s, "a", "b");
    LocalDirectoryRestoreTest.dir(s, "a/under-a-link");
    StoredState bad = s.seal();
    try (ResourceDriver d = new LocalDirectoryProvider().open(tree,
        ResourceProviderContract.providerContext(sandbox))) {
      var atCapture = assertThrows(CorruptCheckpointException.class, () -> d.validate(bad));
      var atRestore = assertThrows(CorruptCheckpointException.class,
          () -> d.prepareRestore(new TckRestoreContext(tree, tree, bad)));
      assertEquals(atRestore.getMessage(), atCapture.getMessage());
      assertTrue(atCapture.getMessage().contains("'a/under-a-link'"), atCapture.getMessage());
    }
  }

  @Test
  void twoSymlinksPointingAtEachOtherAreCapturedAndRestoredAsTheyAre() throws Exception {
    Path root = Files.createDirectories(sandbox.resolve("tree"));
    Files.writeString(root.resolve("data.txt"), "beside the loop");
    Files.createSymbolicLink(root.resolve("a"), Path.of("b"));
    Files.createSymbolicLink(root.resolve("b"), Path.of("a"));
    Map<String, String> captured = TreeState.fingerprint(root);
    Encapsulation job = Encapsulation.builder("loop")
        .resource(Resource.of("tree", ResourceType.FILE_TREE, root.toUri().toString())).build();
    try (Lencap lencap = Lencap.builder().store(sandbox.resolve("store")).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.delete(root.resolve("a"));
      Files.delete(root.resolve("b"));
      Files.createSymbolicLink(root.resolve("b"), Path.of("data.txt"));
      lencap.restore(job, cp.id()).join();
    }
    assertEquals(Path.of("b"), Files.readSymbolicLink(root.resolve("a")));
    assertEquals(Path.of("a"), Files.readSymbolicLink(root.resolve("b")));
    assertEquals(captured, TreeState.fingerprint(root));
    assertFalse(Files.exists(root.resolve(LocalDirectoryProvider.QUIESCE_MARKER)));
  }
}
