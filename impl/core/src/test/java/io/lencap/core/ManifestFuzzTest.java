package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lencap.api.Checkpoint;
import io.lencap.api.LencapException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.StoredEntry;
import io.lencap.testing.Allocations;
import java.io.IOException;
import java.util.Map;

/**
 * Fuzz target: a manifest's JSON as the store loads it ({@link Json} into {@link Manifest}, then
 * {@link ManifestLimits}). A store is shared and may be written by someone else.
 *
 * <p>Contract: loading fails with an {@link IOException} (not JSON, or not a manifest) or a
 * {@link LencapException} (a manifest the limits refuse), or returns a manifest whose every chunk is a content
 * address of 1 to {@link Chunking#MAX_CHUNK} bytes, chunks following each other within their entry's size, and
 * which lists as a {@link Checkpoint}. Memory stays bounded by the input. Any other exception is a finding.
 *
 * <p>Without {@code JAZZER_FUZZ=1} this runs the inputs under {@code src/test/resources/io/lencap/core/
 * ManifestFuzzTestInputs/load/}; {@code scripts/fuzz.sh} fuzzes it.
 */
class ManifestFuzzTest {
  private static final String KEY = "checkpoints/g/20260101T000000Z-a1b2";

  @FuzzTest(maxDuration = "10m")
  void load(byte[] json) {
    long bound = (16L << 20) + 64L * json.length;
    // The first run of a path also loads (and instruments) classes on this thread: only an input that allocates
    // too much twice is a finding.
    long allocated = loadChecked(json);
    if (allocated > bound && loadChecked(json) > bound) {
      fail("loading a " + json.length + "-byte manifest allocated " + allocated + " bytes");
    }
  }

  /** Loads the manifest as the store does and checks what it promises; returns the bytes allocated. */
  private static long loadChecked(byte[] json) {
    long before = Allocations.ofThisThread();
    Manifest m;
    try {
      m = Json.read(json, Manifest.class);
      ManifestLimits.check(KEY, m);
    } catch (IOException | LencapException refused) {
      return Allocations.ofThisThread() - before;
    }
    for (Manifest.Member member : m.members()) {
      for (StoredEntry e : member.entries()) {
        long next = 0;
        for (ChunkRef c : e.chunks()) {
          assertTrue(c.id().matches("[0-9a-f]{64}"), "chunk id " + c.id());
          assertTrue(c.length() > 0 && c.length() <= Chunking.MAX_CHUNK, "chunk length " + c.length());
          assertEquals(next, c.offset(), "chunk offset in " + e.path());
          next += c.length();
        }
        assertTrue(next <= e.size(), "chunks of " + next + " bytes in an entry of " + e.size());
      }
    }
    Map<String, Integer> chunks = CheckpointStore.chunksOf(m);
    chunks.values().forEach(length -> assertTrue(length > 0 && length <= Chunking.MAX_CHUNK));
    Checkpoint listed = m.toCheckpoint();
    assertNotNull(listed.id());
    assertEquals(m.members().size(), listed.members().size());
    return Allocations.ofThisThread() - before;
  }
}
