package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.lencap.tree.TreeFileException.Reason;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A restore's directory handles survive a handle going stale (a directory replaced on the server between
 * capture and restore): the call is run once more on the handle a fresh look-up by path returns, and only
 * a stale handle is looked up again.
 */
class DirectoryHandlesTest {
  private static final FileAttrs DIRECTORY = new FileAttrs(FileAttrs.Kind.DIRECTORY, 0755, 0, 0, 0, 2, 1, 0, 0, 0, 2);
  private static final FileAttrs FILE = new FileAttrs(FileAttrs.Kind.FILE, 0644, 0, 0, 0, 3, 1, 0, 0, 0, 1);

  @SuppressWarnings("unchecked")
  private final TreeFiles<String> fs = mock(TreeFiles.class);
  private final DirectoryHandles<String> handles = new DirectoryHandles<>(fs);
  private final List<String> calledOn = new ArrayList<>();

  @BeforeEach
  void aTree() {
    when(fs.where()).thenReturn("nfs://server/export");
    handles.put("d/sub", "old");
  }

  private static TreeFileException stale() {
    return new TreeFileException(Reason.STALE, "NFS3ERR_STALE", null);
  }

  @Test
  void aStaleHandleIsLookedUpAgainByPathAndTheCallRunsOnTheFreshOne() throws IOException {
    when(fs.lookupPath("d/sub")).thenReturn(Optional.of(new TreeNode<>("d/sub", "sub".getBytes(), DIRECTORY, "fresh")));
    String result = handles.inDir("d/sub", h -> {
      calledOn.add(h);
      if (h.equals("old")) {
        throw stale();
      }
      return "created in " + h;
    });
    assertEquals("created in fresh", result);
    assertEquals(List.of("old", "fresh"), calledOn);
    handles.inDir("d/sub", h -> calledOn.add(h)); // the fresh handle is kept
    assertEquals(List.of("old", "fresh", "fresh"), calledOn);
    verify(fs, times(1)).lookupPath("d/sub");
  }

  @Test
  void otherFailuresAreNotRetried() throws IOException {
    TreeFileException denied = new TreeFileException(Reason.EXISTS, "NFS3ERR_EXIST", null);
    assertSame(denied, assertThrows(TreeFileException.class, () -> handles.inDir("d/sub", h -> {
      throw denied;
    })));
    verify(fs, never()).lookupPath("d/sub");
  }

  @Test
  void aDirectoryThatIsGoneOrNoLongerADirectoryFailsNamingIt() throws IOException {
    when(fs.lookupPath("d/sub")).thenReturn(Optional.empty());
    IOException gone = assertThrows(IOException.class, () -> handles.inDir("d/sub", h -> {
      throw stale();
    }));
    assertTrue(gone.getMessage().contains("'d/sub'") && gone.getMessage().contains("disappeared"), gone.getMessage());

    handles.put("d/sub", "old");
    when(fs.lookupPath("d/sub")).thenReturn(Optional.of(new TreeNode<>("d/sub", "sub".getBytes(), FILE, "file")));
    assertThrows(IOException.class, () -> handles.inDir("d/sub", h -> {
      calledOn.add(h);
      throw stale();
    }));
    assertEquals(List.of("old"), calledOn, "nothing runs on an object that is not a directory");
  }

  @Test
  void theFreshHandleIsTriedOnceOnly() throws IOException {
    when(fs.lookupPath("d/sub")).thenReturn(Optional.of(new TreeNode<>("d/sub", "sub".getBytes(), DIRECTORY, "fresh")));
    assertThrows(TreeFileException.class, () -> handles.inDir("d/sub", h -> {
      calledOn.add(h);
      throw stale();
    }));
    assertEquals(List.of("old", "fresh"), calledOn);
  }
}
