package io.lencap.spi.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.IncrementalCopy;
import io.lencap.spi.StorageSnapshot.Extent;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * An incremental copy holds exactly the new content, reading only the changed ranges (and a block whose parent chunk
 * fails verification), whatever the pieces it is handed.
 */
class IncrementalCopyTest {
  static final int BLOCK = 4096;
  static final int SIZE = 5 * BLOCK + 1000; // a last block shorter than the others

  final MemoryState.Chunks chunks = new MemoryState.Chunks();
  final byte[] old = random(1, SIZE);
  final byte[] now = old.clone();
  final List<Long> readAt = new ArrayList<>(); // where the source was asked for bytes
  final long[] sourced = {0}; // how many

  static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  StoredState parent() throws IOException {
    MemoryState state = new MemoryState(chunks, "parent");
    try (EntryWriter w = state.create("disk", EntryKind.FILE, Map.of(), Chunking.fixed(BLOCK))) {
      w.write(old, 0, old.length);
    }
    return state.seal();
  }

  void change(int offset, int length) {
    System.arraycopy(random(offset, length), 0, now, offset, length);
  }

  /** {@code piece} for a copy that reads through its source. */
  static final int PULL = 0;

  /** Copies with the changed ranges, handing them over in pieces of {@code piece} bytes (or not); returns the copy. */
  StoredState copy(StoredState parent, List<Extent> changed, int piece, long[] read) throws IOException {
    MemoryState state = new MemoryState(chunks, "child");
    StoredEntry p = parent.entry("disk").orElseThrow();
    try (EntryWriter w = state.create("disk", EntryKind.FILE, Map.of(), Chunking.fixed(BLOCK));
        IncrementalCopy copy = new IncrementalCopy(w, parent, p, BLOCK, changed, (offset, dst) -> {
          readAt.add(offset);
          sourced[0] += dst.remaining();
          dst.put(now, (int) offset, dst.remaining());
        })) {
      if (piece == PULL) {
        copy.readFromSource();
      } else {
        for (Extent e : copy.reads()) {
          for (long at = e.offset(); at < e.end(); at += piece) {
            int n = (int) Math.min(piece, e.end() - at);
            copy.accept(at, ByteBuffer.wrap(now, (int) at, n).slice());
          }
        }
        copy.finish();
      }
      read[0] = copy.read();
      read[1] = copy.unverified();
    }
    return state.seal();
  }

  static byte[] content(StoredState s) throws IOException {
    try (var in = s.open(s.entry("disk").orElseThrow())) {
      return in.readAllBytes();
    }
  }

  @Test
  void onlyTheChangedRangesAreReadAndTheCopyIsTheNewContent() throws IOException {
    StoredState parent = parent();
    change(100, 8); // block 0 in part
    change(BLOCK + 10, BLOCK - 10); // block 1 from 10 to its end...
    change(2 * BLOCK, BLOCK); // ...block 2 whole, joined to it
    change(5 * BLOCK, 1000); // the short last block whole
    List<Extent> changed = List.of(new Extent(100, 8), new Extent(BLOCK + 10, BLOCK - 10), new Extent(2 * BLOCK,
        BLOCK), new Extent(5 * BLOCK, 1000));
    for (int piece : new int[] {PULL, 1, 7, BLOCK, 3 * BLOCK}) {
      long[] read = new long[2];
      readAt.clear();
      sourced[0] = 0;
      StoredState child = copy(parent, changed, piece, read);
      assertArrayEquals(now, content(child), "pieces of " + piece);
      assertEquals(8 + BLOCK - 10 + BLOCK + 1000, read[0], "only the changed bytes are read");
      assertEquals(piece == PULL ? read[0] : 0, sourced[0], "through the source when pulled, else handed over");
      if (piece == PULL) {
        assertEquals(List.of(100L, BLOCK + 10L, 2L * BLOCK, 5L * BLOCK), readAt, "a block's part at a time");
      }
      List<ChunkRef> p = parent.entry("disk").orElseThrow().chunks();
      List<ChunkRef> c = child.entry("disk").orElseThrow().chunks();
      assertEquals(p.get(3).id(), c.get(3).id(), "a block no range touches is the parent's chunk");
      assertEquals(p.get(4).id(), c.get(4).id());
    }
  }

  @Test
  void readsJoinAdjacentRanges() throws IOException {
    StoredState parent = parent();
    try (EntryWriter w = new MemoryState(chunks, "c").create("disk", EntryKind.FILE, Map.of(), Chunking.fixed(BLOCK));
        IncrementalCopy copy = new IncrementalCopy(w, parent, parent.entry("disk").orElseThrow(), BLOCK,
            List.of(new Extent(0, 10), new Extent(10, BLOCK), new Extent(3 * BLOCK, 1)), (o, d) -> {})) {
      assertEquals(List.of(new Extent(0, BLOCK + 10), new Extent(3 * BLOCK, 1)), copy.reads());
    }
  }

  @Test
  void aParentChunkThatFailsVerificationIsNotPatchedItsBlockIsReadWhole() throws IOException {
    StoredState parent = parent();
    change(BLOCK + 100, 8);
    change(3 * BLOCK + 100, 8);
    chunks.corrupt(parent.entry("disk").orElseThrow().chunks().get(1).id());
    List<Extent> changed = List.of(new Extent(BLOCK + 100, 8), new Extent(3 * BLOCK + 100, 8));
    long[] read = new long[2];
    StoredState child = copy(parent, changed, 5, read);
    assertArrayEquals(now, content(child));
    assertEquals(List.of((long) BLOCK), readAt, "the block of the corrupt chunk, read whole");
    assertEquals(1, read[1]);
    assertEquals(16 + BLOCK, read[0], "the pieces handed over were read too");
    readAt.clear();
    StoredState pulled = copy(parent, changed, PULL, read);
    assertArrayEquals(now, content(pulled));
    assertEquals(List.of((long) BLOCK, 3L * BLOCK + 100), readAt, "the block read whole, not its piece again");
    assertEquals(BLOCK + 8, read[0]);
  }

  @Test
  void piecesOutOfOrderOrMissingAreRefused() throws IOException {
    StoredState parent = parent();
    try (EntryWriter w = new MemoryState(chunks, "c").create("disk", EntryKind.FILE, Map.of(), Chunking.fixed(BLOCK));
        IncrementalCopy copy = new IncrementalCopy(w, parent, parent.entry("disk").orElseThrow(), BLOCK,
            List.of(new Extent(0, 10), new Extent(2 * BLOCK, 10)), (o, d) -> {})) {
      assertThrows(IllegalStateException.class, () -> copy.accept(2 * BLOCK, ByteBuffer.allocate(10)), "skips");
      assertThrows(IllegalStateException.class, () -> copy.accept(0, ByteBuffer.allocate(11)), "beyond the range");
      copy.accept(0, ByteBuffer.allocate(10));
      assertThrows(IllegalStateException.class, copy::finish, "the second range was never read");
    }
    assertThrows(IllegalArgumentException.class, () -> new IncrementalCopy(null, parent,
        parent.entry("disk").orElseThrow(), BLOCK, List.of(new Extent(10, 10), new Extent(5, 1)), (o, d) -> {}));
    assertThrows(IllegalArgumentException.class, () -> new IncrementalCopy(null, parent,
        parent.entry("disk").orElseThrow(), 2 * BLOCK, List.of(), (o, d) -> {}), "not in blocks of that size");
  }
}
