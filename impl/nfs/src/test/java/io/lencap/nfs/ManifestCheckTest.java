package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The manifest check on its own: what passes, what is refused and how the refusal reads. */
class ManifestCheckTest {
  private static final Map<String, String> META = Map.of("mode", "755", "uid", "1000", "gid", "100", "atime", "1",
      "mtime", "2", "ctime", "3", "fileid", "9");

  @Test
  void aNormalTreePassesParentsFirst() {
    var plan = ManifestCheck.check(state(file("d/e/f", 3), dir("d/e"), dir("d"), link("d/l", "e/f"),
        link("top", "d/e/../e/f"), link("d/e/up", "../../d")), "nas");
    assertEquals(List.of("d", "top", "d/e", "d/l", "d/e/f", "d/e/up"),
        plan.entries().stream().map(StoredEntry::path).toList());
    assertEquals(0755, plan.root().mode());
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", "../x", "a/..", "a/../../x", "/etc/passwd", "a//b", "a/", ".", "./a", "a\0b"})
  void traversalAndOddPathsAreRefused(String path) {
    UnsafeManifestException e = assertThrows(UnsafeManifestException.class,
        () -> ManifestCheck.check(state(dir("a"), file(path, 1)), "nas"));
    assertTrue(e.getMessage().startsWith("checkpoint cp, member nas: refused before writing anything: "),
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/etc", "..", "../x", "a/../..", "up/..", "up/../../x", "loop", "loop/x"})
  void escapingSymlinksAreRefused(String target) {
    // a/up -> .. resolves to the root (allowed); going up once more from there leaves it.
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(
        state(dir("a"), link("a/up", ".."), link("a/loop", "loop2"), link("a/loop2", "loop"),
            link("a/evil", target)), "nas"));
  }

  @Test
  void writingThroughASymlinkIsRefused() {
    var e = assertThrows(UnsafeManifestException.class,
        () -> ManifestCheck.check(state(dir("d"), link("l", "d"), file("l/f", 1)), "nas"));
    assertTrue(e.getMessage().contains("entry 'l/f': its parent 'l' is not a directory"), e.getMessage());
  }

  @Test
  void missingParentsDuplicatesAndBadMetadataAreRefused() {
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(file("x/f", 1)), "nas"));
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(file("f", 1), file("f", 1)), "nas"));
    Map<String, String> bad = new HashMap<>(META);
    bad.put("mode", "99999");
    var e = assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(
        state(new StoredEntry("f", EntryKind.FILE, 0, bad, List.of())), "nas"));
    assertTrue(e.getMessage().contains("attribute 'mode'"), e.getMessage());
  }

  @Test
  void chunksMustTileTheFile() {
    var gap = new StoredEntry("f", EntryKind.FILE, 10, META,
        List.of(new ChunkRef("a", 0, 4), new ChunkRef("b", 6, 4)));
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(gap), "nas"));
    var shortOf = new StoredEntry("f", EntryKind.FILE, 10, META, List.of(new ChunkRef("a", 0, 4)));
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(shortOf), "nas"));
  }

  // ---- a stored state from entries ----

  private static StoredEntry file(String path, int size) {
    return new StoredEntry(path, EntryKind.FILE, size, META, size == 0 ? List.of() : List.of(new ChunkRef("c", 0, size)));
  }

  private static StoredEntry dir(String path) {
    return new StoredEntry(path, EntryKind.DIRECTORY, 0, META, List.of());
  }

  private static StoredEntry link(String path, String target) {
    Map<String, String> m = new HashMap<>(META);
    m.put("target", target);
    return new StoredEntry(path, EntryKind.SYMLINK, 0, m, List.of());
  }

  private static StoredState state(StoredEntry... entries) {
    Map<String, String> attrs = new HashMap<>();
    META.forEach((k, v) -> attrs.put("root." + k, v));
    List<StoredEntry> list = new ArrayList<>(List.of(entries));
    return new StoredState() {
      @Override
      public String checkpointId() {
        return "cp";
      }

      @Override
      public Map<String, String> attributes() {
        return attrs;
      }

      @Override
      public List<StoredEntry> entries() {
        return list;
      }

      @Override
      public Optional<StoredEntry> entry(String path) {
        return list.stream().filter(e -> e.path().equals(path)).findFirst();
      }

      @Override
      public ByteBuffer read(ChunkRef chunk) {
        throw new AssertionError("the check reads no content");
      }

      @Override
      public InputStream open(StoredEntry entry) {
        throw new AssertionError("the check reads no content");
      }

      @Override
      public boolean matches(ChunkRef chunk, ByteBuffer content) {
        throw new AssertionError("the check reads no content");
      }
    };
  }
}
