package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The proof and the block arithmetic of a differential restore, without QEMU. */
class DifferentialRestoreTest {
  static final int BLOCK = Chunking.DEFAULT_BLOCK_SIZE;
  static final String DISK = DomainDriver.DISKS + "vdb";
  static final Map<String, String> GUEST = Map.of(BitmapTracking.VIEW, BitmapTracking.GUEST, "format", "qcow2");

  static StoredEntry entry(Map<String, String> attrs, long size, String... ids) {
    List<ChunkRef> chunks = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      chunks.add(new ChunkRef(ids[i], (long) i * BLOCK, (int) Math.min(BLOCK, size - (long) i * BLOCK)));
    }
    return new StoredEntry(DISK, EntryKind.FILE, size, attrs, chunks);
  }

  /** A stored state with one disk of {@code blocks} blocks, from a real (in-memory) sink, with its attributes. */
  static StoredState earlier(String checkpoint, Map<String, String> diskAttrs, int blocks, String identity) throws Exception {
    MemoryState sink = new MemoryState(new MemoryState.Chunks(), "cp-" + checkpoint);
    try (var w = sink.create(DISK, EntryKind.FILE, diskAttrs, Chunking.blocks())) {
      w.write(ByteBuffer.allocate(blocks * BLOCK));
    }
    sink.attribute(BitmapTracking.CHECKPOINT, "lencap-" + checkpoint);
    sink.attribute(BitmapTracking.DISK + "vdb", identity);
    return sink.seal();
  }

  @Test
  void theRestoredCheckpointsOwnBitmapComesFirstThenTheNewest() {
    List<String> in = List.of("other", "lencap-20261202T100000Z-0001", "lencap-20261202T120000Z-0003",
        "lencap-20261202T110000Z-0002", "lencap-");
    assertEquals(List.of("lencap-20261202T110000Z-0002", "lencap-20261202T120000Z-0003",
        "lencap-20261202T100000Z-0001"), DifferentialRestore.candidates(in, "20261202T110000Z-0002"));
    assertEquals(List.of("lencap-20261202T120000Z-0003", "lencap-20261202T110000Z-0002",
        "lencap-20261202T100000Z-0001"), DifferentialRestore.candidates(in, "20261202T130000Z-0004"));
  }

  @Test
  void blocksDifferWhereTheChunkIdsDifferOrOneCopyLacksThem() {
    StoredEntry a = entry(GUEST, 4L * BLOCK, "a", "b", "c", "d");
    StoredEntry b = entry(GUEST, 4L * BLOCK, "a", "x", "c", "y");
    BitSet expected = new BitSet();
    expected.set(1);
    expected.set(3);
    assertEquals(expected, DifferentialRestore.differing(a, b));
    assertEquals(new BitSet(), DifferentialRestore.differing(a, a));
    StoredEntry shorter = entry(GUEST, 2L * BLOCK, "a", "b");
    BitSet tail = new BitSet();
    tail.set(2, 4);
    assertEquals(tail, DifferentialRestore.differing(shorter, a));
  }

  @Test
  void anEarlierCheckpointServesOnlyWithItsOwnBitmapTheSameFileAndAWholeGuestCopyOfTheSameSize() throws Exception {
    StoredEntry restored = entry(GUEST, 4L * BLOCK, "a", "b", "c", "d");
    StoredState p = earlier("P", GUEST, 4, "1:2");
    assertEquals(Optional.empty(), DifferentialRestore.problem(p, restored, "vdb", "lencap-P", "1:2"));
    assertTrue(DifferentialRestore.problem(p, restored, "vdb", "lencap-Q", "1:2").orElseThrow().contains("did not make"));
    assertTrue(DifferentialRestore.problem(p, restored, "vdb", "lencap-P", "1:3").orElseThrow()
        .contains("not the file"));
    assertTrue(DifferentialRestore.problem(p, restored, "vda", "lencap-P", "1:2").orElseThrow()
        .contains("not the file"), "no identity recorded for that disk");
    StoredState host = earlier("P", Map.of("format", "qcow2"), 4, "1:2");
    assertTrue(DifferentialRestore.problem(host, restored, "vdb", "lencap-P", "1:2").orElseThrow()
        .contains("as the guest sees it"));
    StoredState smaller = earlier("P", GUEST, 3, "1:2");
    assertTrue(DifferentialRestore.problem(smaller, restored, "vdb", "lencap-P", "1:2").orElseThrow()
        .contains("not " + 4L * BLOCK));
  }

  @Test
  void bitmapNamesAreReadFromQemuImgInfo() {
    String info = """
        {"virtual-size": 8388608, "format": "qcow2", "format-specific": {"type": "qcow2", "data": {
          "bitmaps": [
            {"flags": ["auto"], "name": "lencap-a", "granularity": 65536},
            {"flags": ["in-use", "auto"], "name": "lencap-b", "granularity": 65536}
          ], "corrupt": false}}}""";
    assertEquals(List.of("lencap-a", "lencap-b"), QemuImg.bitmapNames(info));
    assertEquals(List.of(), QemuImg.bitmapNames("{\"format\": \"qcow2\"}"));
  }
}
