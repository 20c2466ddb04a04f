package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Resource;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.ResourceProviderContract;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A manifest must not size the restore's buffers: chunk lengths above the format's maximum (or not the LUN's
 * fixed chunking) are refused naming the member before the LUN is read or written. The stored state is crafted;
 * it serves no chunk, so any read of it fails the test.
 */
class LunRestoreBoundsTest {

  ScriptedTarget target;

  @AfterEach
  void stop() throws Exception {
    target.close();
  }

  /** A stored state holding only the given LUN entry; reading its chunks is a test failure. */
  static StoredState crafted(StoredEntry lun) {
    return new StoredState() {
      @Override
      public String checkpointId() {
        return "cp-crafted";
      }

      @Override
      public Map<String, String> attributes() {
        return Map.of();
      }

      @Override
      public List<StoredEntry> entries() {
        return List.of(lun);
      }

      @Override
      public Optional<StoredEntry> entry(String path) {
        return Optional.of(lun).filter(e -> e.path().equals(path));
      }

      @Override
      public ByteBuffer read(ChunkRef chunk) {
        throw new AssertionError("a chunk was read");
      }

      @Override
      public InputStream open(StoredEntry entry) {
        throw new AssertionError("the entry was read");
      }

      @Override
      public boolean matches(ChunkRef chunk, ByteBuffer content) {
        throw new AssertionError("a chunk was compared");
      }
    };
  }

  static StoredEntry lun(ChunkRef... chunks) {
    long size = 0;
    for (ChunkRef c : chunks) {
      size += c.length();
    }
    return new StoredEntry(LunDriver.ENTRY, EntryKind.FILE, size, Map.of(), List.of(chunks));
  }

  void assertRefused(StoredEntry entry, String why) throws Exception {
    target = new ScriptedTarget();
    target.blocks = (256L << 20) / 512; // a LUN large enough for every crafted entry
    Resource r = Resource.builder("db-lun").type("block").locator(target.locator(0)).build();
    RestoreContext ctx = new ResourceProviderContract.TckRestoreContext(r, r, crafted(entry));
    try (ResourceDriver d = new IscsiProvider().open(r, new io.lencap.spi.ProviderContext() {
      @Override
      public Path workDirectory() {
        return Path.of(System.getProperty("java.io.tmpdir"));
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    })) {
      CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class, () -> d.prepareRestore(ctx));
      assertEquals("db-lun", e.memberId());
      assertTrue(e.getMessage().contains(why), e.getMessage());
      // Restore checks too, for a caller that skipped prepareRestore.
      assertThrows(CorruptCheckpointException.class, () -> d.restore(ctx));
    }
  }

  @Test
  void aChunkAboveTheFormatsMaximumIsRefused() throws Exception {
    int huge = 64 << 20; // 8 buffers of it would be 512 MiB
    assertRefused(lun(new ChunkRef("a".repeat(64), 0, huge), new ChunkRef("b".repeat(64), huge, huge)),
      "has length " + huge + ", outside 1.." + Chunking.MAX_CHUNK);
  }

  @Test
  void chunksThatAreNotTheLunsFixedChunkingAreRefused() throws Exception {
    assertRefused(lun(new ChunkRef("a".repeat(64), 0, 4096), new ChunkRef("b".repeat(64), 4096, 1 << 20),
      new ChunkRef("c".repeat(64), 4096 + (1 << 20), 4096)), "where the LUN's chunks have 4096");
  }

  @Test
  void aNegativeOrZeroLengthIsRefused() throws Exception {
    assertRefused(lun(new ChunkRef("a".repeat(64), 0, 0)), "has length 0");
  }
}
