package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import io.lencap.testing.HostCommand;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFilesTest {
  static final int BLOCK = Chunking.DEFAULT_BLOCK_SIZE;

  @TempDir
  Path tmp;

  /** Random blocks around zero blocks, the last one short: what a sparse disk image stores. */
  static byte[] image() {
    byte[] content = new byte[5 * BLOCK + 1000];
    Random r = new Random(3);
    for (int b : new int[] {0, 2, 5}) {
      byte[] block = new byte[Math.min(BLOCK, content.length - b * BLOCK)];
      r.nextBytes(block);
      System.arraycopy(block, 0, content, b * BLOCK, block.length);
    }
    return content;
  }

  static StoredState stored(MemoryState.Chunks chunks, byte[] content) throws Exception {
    MemoryState sink = new MemoryState(chunks, "cp");
    try (var w = sink.create("disks/vdb", EntryKind.FILE, Map.of(), Chunking.blocks())) {
      w.write(ByteBuffer.wrap(content));
    }
    return sink.seal();
  }

  static TckRestoreContext context(StoredState state) {
    Resource vm = Resource.of("vm", ResourceType.VIRTUAL_MACHINE, "test:///default");
    return new TckRestoreContext(vm, vm, state);
  }

  @Test
  void writesEveryChunkInPlaceAndLeavesZeroBlocksAsHoles() throws Exception {
    byte[] content = image();
    StoredState state = stored(new MemoryState.Chunks(), content);
    StoredEntry entry = state.entry("disks/vdb").orElseThrow();
    Path out = tmp.resolve("vdb.raw");
    long[] done = {0};
    StateFiles.restore(state, entry, out, true, done, content.length, context(state));
    assertArrayEquals(content, Files.readAllBytes(out));
    assertEquals(content.length, done[0]);
    long allocated = Long.parseLong(HostCommand.run("stat", "-c", "%b", out.toString()).trim()) * 512;
    assertTrue(allocated < 4L * BLOCK, "the three zero blocks were written: " + allocated + " bytes allocated");
  }

  @Test
  void aChunkThatFailsItsCheckFailsTheRestore() throws Exception {
    byte[] content = image();
    MemoryState.Chunks chunks = new MemoryState.Chunks();
    StoredState state = stored(chunks, content);
    StoredEntry entry = state.entry("disks/vdb").orElseThrow();
    chunks.corrupt(entry.chunks().get(2).id());
    assertThrows(CorruptCheckpointException.class, () -> StateFiles.restore(state, entry, tmp.resolve("vdb.raw"),
        false, new long[1], content.length, context(state)));
  }
}
