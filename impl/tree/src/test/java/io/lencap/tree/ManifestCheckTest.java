package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
  @ValueSource(strings = {"/etc", "../..", "../../x", "a/../../..", "up/..", "up/../../x", "../a/up/..",
      "x/../../.."})
  void escapingSymlinksAreRefused(String target) {
    // a/evil sits in a: two levels up leave the root. a/up -> .. resolves to the root (allowed); going up
    // once more from there leaves it.
    var e = assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(
        state(dir("a"), link("a/up", ".."), link("a/loop", "loop2"), link("a/loop2", "loop"),
            link("a/evil", target)), "nas"));
    assertTrue(e.getMessage().contains("entry 'a/evil'"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"loop", "loop/x", "loop/../..", "up/a/loop", "../a/loop2/x"})
  void linksThatNeverResolveAreKeptAsLinks(String target) {
    // A loop resolves nowhere (ELOOP): nothing can be reached through it, inside or outside the root.
    var plan = ManifestCheck.check(state(dir("a"), link("a/up", ".."), link("a/loop", "loop2"),
        link("a/loop2", "loop"), link("a/other", target)), "nas");
    assertEquals(5, plan.entries().size());
  }

  @Test
  void twoLinksPointingAtEachOtherPass() {
    var plan = ManifestCheck.check(state(link("a", "b"), link("b", "a")), "nas");
    assertEquals(List.of("a", "b"), plan.entries().stream().map(StoredEntry::path).toList());
    ManifestCheck.check(state(link("l1", "l2/x"), link("l2", "l1/x")), "nas");
  }

  @Test
  void hopsAreCountedOverTheWholeResolutionAsLinuxDoes() {
    // l0 -> d, l1 -> l0, ..., l39 -> l38: following l39 follows 40 links, as many as Linux allows.
    List<StoredEntry> chain = new ArrayList<>(List.of(dir("d")));
    chain.add(link("l0", "d"));
    for (int i = 1; i <= 40; i++) {
      chain.add(link("l" + i, "l" + (i - 1)));
    }
    SymlinkResolver r = new SymlinkResolver(byPath(chain));
    assertEquals(SymlinkResolver.Outcome.INSIDE, r.follow("l39"));
    assertEquals(SymlinkResolver.Outcome.TOO_MANY_HOPS, r.follow("l40"));
    // The same count when the links are nested in a target rather than chained.
    List<StoredEntry> nested = new ArrayList<>(List.of(dir("d"), link("n0", "d")));
    for (int i = 1; i <= 20; i++) {
      nested.add(link("n" + i, "n" + (i - 1) + "/../n" + (i - 1)));
    }
    r = new SymlinkResolver(byPath(nested));
    assertEquals(SymlinkResolver.Outcome.INSIDE, r.follow("n4")); // 1 + 2 * 15 = 31 links
    assertEquals(SymlinkResolver.Outcome.TOO_MANY_HOPS, r.follow("n5")); // 63
    // A link past the budget leads nowhere, even when its end would be outside: the escape is refused
    // where it is (the last link of the chain), and the manifest with it.
    chain.add(link("out", "../x"));
    chain.add(link("far", "l40/../../out"));
    var e = assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(chain), "nas"));
    assertTrue(e.getMessage().contains("entry 'out': symlink target '../x' leads outside the tree's root"),
        e.getMessage());
  }

  @Test
  void chainedLinksResolveInLinearSteps() {
    // 6 levels of 20 links; each link of a level names all 20 of the level below (l1_i -> l0_0/../l0_1/..
    // ../l0_19, l0_i -> d). Resolving every link
    // separately (no memo) would take 20^5 walks of the lowest level; counted hops and memoised links
    // make each link's target walked once.
    List<StoredEntry> entries = new ArrayList<>(List.of(dir("d")));
    int levels = 6;
    int width = 20;
    int components = 0;
    for (int i = 0; i < width; i++) {
      entries.add(link("l0_" + i, "d"));
      components++;
    }
    for (int level = 1; level < levels; level++) {
      for (int i = 0; i < width; i++) {
        StringBuilder t = new StringBuilder();
        for (int j = 0; j < width; j++) {
          t.append(j == 0 ? "" : "/../").append("l").append(level - 1).append('_').append(j);
        }
        entries.add(link("l" + level + "_" + i, t.toString())); // each ends where the level below does: d
        components += 2 * width - 1;
      }
    }
    SymlinkResolver r = new SymlinkResolver(byPath(entries));
    for (StoredEntry e : entries) {
      if (e.kind() == EntryKind.SYMLINK) {
        assertTrue(r.follow(e.path()) != SymlinkResolver.Outcome.ESCAPES, e.path());
      }
    }
    assertTrue(r.steps() <= components, "walked " + r.steps() + " components, the targets hold " + components);
    assertEquals(SymlinkResolver.Outcome.INSIDE, r.follow("l1_0")); // 21 links
    assertEquals(SymlinkResolver.Outcome.TOO_MANY_HOPS, r.follow("l2_0")); // 421 links
    assertEquals(levels * width + 1, ManifestCheck.check(state(entries.toArray(StoredEntry[]::new)), "nas")
        .entries().size());
  }

  @Test
  void aHardLinkMustNameAFileThatHoldsContent() {
    Map<String, String> linkMeta = new HashMap<>(META);
    linkMeta.put("link", "f");
    StoredEntry link = new StoredEntry("g", EntryKind.FILE, 0, linkMeta, List.of());
    ManifestCheck.check(state(file("f", 3), link), "nas");
    var toDir = assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(dir("f"), link), "nas"));
    assertTrue(toDir.getMessage().contains("entry 'g': hard link to 'f'"), toDir.getMessage());
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(link), "nas"));
    Map<String, String> chained = new HashMap<>(META);
    chained.put("link", "g");
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(
        state(file("f", 3), link, new StoredEntry("h", EntryKind.FILE, 0, chained, List.of())), "nas"));
    var withContent = new StoredEntry("g", EntryKind.FILE, 3, linkMeta, List.of(new ChunkRef("c", 0, 3)));
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(file("f", 3), withContent), "nas"));
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

  @Test
  void aChunkLongerThanTheFormatAllowsIsRefusedNamingTheEntry() {
    int huge = io.lencap.spi.Chunking.MAX_CHUNK + 1;
    var big = new StoredEntry("d/big", EntryKind.FILE, huge, META, List.of(new ChunkRef("c", 0, huge)));
    var e = assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(dir("d"), big), "nas"));
    assertTrue(e.getMessage().contains("entry 'd/big'") && e.getMessage().contains("largest chunk"),
        e.getMessage());
    var largest = new StoredEntry("d/ok", EntryKind.FILE, huge - 1, META,
        List.of(new ChunkRef("c", 0, huge - 1)));
    ManifestCheck.check(state(dir("d"), largest), "nas");
  }

  @Test
  void escapedNamesPassOnlyInCanonicalForm() {
    ManifestCheck.check(state(dir("d\uDCE9"), file("d\uDCE9/latin1-\uDCE9\uDCFF.bin", 1),
        link("l", "d\uDCE9/latin1-\uDCE9\uDCFF.bin")), "nas");
    var alias = assertThrows(UnsafeManifestException.class,
        () -> ManifestCheck.check(state(file("caf\u00e9", 1), file("caf\uDCC3\uDCA9", 1)), "nas"));
    assertTrue(alias.getMessage().contains("canonical"), alias.getMessage());
    assertThrows(UnsafeManifestException.class, () -> ManifestCheck.check(state(link("l", "x\uD800")), "nas"));
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

  private static Map<String, StoredEntry> byPath(List<StoredEntry> entries) {
    Map<String, StoredEntry> m = new HashMap<>();
    entries.forEach(e -> m.put(e.path(), e));
    return m;
  }

  private static StoredState state(List<StoredEntry> entries) {
    return state(entries.toArray(StoredEntry[]::new));
  }

  private static StoredState state(StoredEntry... entries) {
    Map<String, String> attrs = new HashMap<>();
    META.forEach((k, v) -> attrs.put("root." + k, v));
    return new EntriesOnly(attrs, new ArrayList<>(List.of(entries)));
  }
}
