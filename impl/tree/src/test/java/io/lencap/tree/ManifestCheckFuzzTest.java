package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuzz targets: a stored tree as a restore reads it back from the store, then {@link ManifestCheck}, which must
 * stop whatever a restore must not write before anything is written.
 *
 * <p>{@link #manifestJson} takes a member's stored state as JSON (the shape core stores: {@code attributes} and
 * {@code entries}, each entry {@code path}, {@code kind}, {@code size}, {@code attributes}, {@code chunks}).
 * {@link #compactTree} takes one entry per line, {@code d PATH}, {@code f PATH SIZE LEN,LEN,...} or
 * {@code l PATH TARGET}, with valid metadata filled in, so that fuzzing spends its time on paths and symlinks.
 *
 * <p>Contract: the check throws {@link UnsafeManifestException} (a {@link CorruptCheckpointException}) or returns a
 * plan in which every entry appears once, parents first, each parent a directory of the checkpoint, no name empty,
 * {@code .} or {@code ..}, no path or symlink target absolute, every file's chunks tiling it with at most
 * {@link Chunking#MAX_CHUNK} bytes each; in bounded time. Any other exception is a finding.
 *
 * <p>Without {@code JAZZER_FUZZ=1} these run the inputs under {@code src/test/resources/io/lencap/nfs/
 * ManifestCheckFuzzTestInputs/<method>/}; {@code scripts/fuzz.sh} fuzzes them.
 */
class ManifestCheckFuzzTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long TIME_LIMIT_NANOS = 5_000_000_000L;
  private static final Map<String, String> META = Map.of("mode", "644", "uid", "0", "gid", "0", "atime", "1",
      "mtime", "2", "ctime", "3", "fileid", "7");
  private static final Map<String, String> ROOT = Map.of("root.mode", "755", "root.uid", "0", "root.gid", "0",
      "root.atime", "1", "root.mtime", "2", "root.ctime", "3", "root.fileid", "1", "format", "lencap-nfs/1");

  /** A member's stored state as JSON. */
  record Tree(Map<String, String> attributes, List<StoredEntry> entries) {}

  @FuzzTest(maxDuration = "10m")
  void manifestJson(byte[] json) {
    Tree tree;
    try {
      tree = JSON.readValue(json, Tree.class);
    } catch (IOException notAState) {
      return; // not a member's state: core refuses it before any provider sees it
    }
    if (tree == null || tree.attributes() == null || tree.entries() == null
        || tree.entries().stream().anyMatch(e -> e == null || e.kind() == null)) {
      return; // core's ManifestLimits refuses these before a provider sees the manifest
    }
    checkHoldsItsContract(tree.attributes(), tree.entries());
  }

  @FuzzTest(maxDuration = "10m")
  void compactTree(byte[] text) {
    List<StoredEntry> entries = new ArrayList<>();
    for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
      String[] f = line.split(" ", 3);
      if (f.length < 2) {
        continue;
      }
      switch (f[0]) {
        case "d" -> entries.add(new StoredEntry(f[1], EntryKind.DIRECTORY, 0, META, List.of()));
        case "l" -> {
          Map<String, String> attrs = new HashMap<>(META);
          attrs.put(TreeAttributes.TARGET, f.length > 2 ? f[2] : "");
          entries.add(new StoredEntry(f[1], EntryKind.SYMLINK, 0, attrs, List.of()));
        }
        case "f" -> entries.add(file(f[1], f.length > 2 ? f[2] : ""));
        default -> {
          // not an entry
        }
      }
    }
    checkHoldsItsContract(ROOT, entries);
  }

  private static StoredEntry file(String path, String spec) {
    String[] f = spec.split(" ", 2);
    long size = parse(f[0]);
    List<ChunkRef> chunks = new ArrayList<>();
    long at = 0;
    if (f.length > 1) {
      for (String len : f[1].split(",")) {
        int n = (int) parse(len);
        chunks.add(new ChunkRef("0".repeat(64), at, n));
        at += n;
      }
    }
    return new StoredEntry(path, EntryKind.FILE, size, META, chunks);
  }

  private static long parse(String s) {
    try {
      return Long.parseLong(s.strip());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static void checkHoldsItsContract(Map<String, String> attributes, List<StoredEntry> entries) {
    StoredState state = state(attributes, entries);
    long started = System.nanoTime();
    ManifestCheck.Plan plan;
    try {
      plan = ManifestCheck.check(state, "nas");
    } catch (CorruptCheckpointException refused) {
      assertFalse(refused.getMessage().isEmpty());
      assertInTime(started, entries.size());
      return;
    }
    assertInTime(started, entries.size());
    assertEquals(entries.size(), plan.entries().size(), "every entry once");
    Set<String> seen = new HashSet<>();
    for (StoredEntry e : plan.entries()) {
      String path = e.path();
      assertFalse(path.startsWith("/"), "absolute path " + path);
      assertFalse(path.indexOf('\0') >= 0, "NUL in " + path);
      for (String name : path.split("/", -1)) {
        assertFalse(name.isEmpty() || name.equals(".") || name.equals(".."), "name '" + name + "' in " + path);
      }
      int slash = path.lastIndexOf('/');
      if (slash > 0) {
        String parent = path.substring(0, slash);
        assertTrue(seen.contains(parent), "parent of " + path + " comes first");
        assertEquals(EntryKind.DIRECTORY, plan.byPath().get(parent).kind(), "parent of " + path);
      }
      assertTrue(seen.add(path), "entry " + path + " twice");
      switch (e.kind()) {
        case FILE -> {
          long at = 0;
          for (ChunkRef c : e.chunks()) {
            assertEquals(at, c.offset());
            assertTrue(c.length() > 0 && c.length() <= Chunking.MAX_CHUNK, "chunk of " + c.length() + " bytes");
            at += c.length();
          }
          assertEquals(e.size(), at, "chunks tile " + path);
        }
        case SYMLINK -> {
          String target = e.attributes().get(TreeAttributes.TARGET);
          assertTrue(target != null && !target.isEmpty() && !target.startsWith("/"), "target of " + path);
        }
        case DIRECTORY -> assertTrue(e.chunks().isEmpty());
        default -> fail("kind " + e.kind());
      }
    }
  }

  private static void assertInTime(long started, int entries) {
    long took = System.nanoTime() - started;
    if (took > TIME_LIMIT_NANOS) {
      fail("checking " + entries + " entries took " + took / 1_000_000 + " ms");
    }
  }

  private static StoredState state(Map<String, String> attributes, List<StoredEntry> entries) {
    return new EntriesOnly(attributes, entries);
  }
}
