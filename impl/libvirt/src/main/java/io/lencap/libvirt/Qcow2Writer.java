package io.lencap.libvirt;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes a new qcow2 image from its guest view, given in order: version 3, clusters of 64 KiB, 16-bit refcounts, no
 * backing file, what {@code qemu-img create -f qcow2} makes. A cluster of zeros stays unallocated; the others are
 * laid out one after the other as they come, each L2 table just before the first cluster it maps, so every cluster
 * of the file is referenced once and the refcounts are known at the end. The metadata the image can need at most
 * (L1 table, refcount table and blocks) comes first, sized from the guest's size.
 *
 * <p>The image is written with {@code O_DIRECT} where its file system takes it ({@link DirectFile}).
 *
 * <p>Why not {@code qemu-img}: a restore would write the disk twice, a raw file and then its conversion, or send it
 * through {@code qemu-nbd}, which takes writes at half the page cache's rate here (BENCHMARKS.md). Neither qemu nor a
 * Java library writes qcow2 from a stream. The format is qemu's {@code docs/interop/qcow2.txt}; the tests check what
 * this writes with {@code qemu-img check} and {@code qemu-img compare}.
 */
final class Qcow2Writer implements Closeable {
  static final int CLUSTER_BITS = 16;
  static final int CLUSTER = 1 << CLUSTER_BITS;
  private static final int L2_ENTRIES = CLUSTER / Long.BYTES;
  private static final int REFCOUNTS_PER_BLOCK = CLUSTER / Short.BYTES;
  private static final long COPIED = 1L << 63; // the cluster's refcount is exactly one
  private static final int RUN = 16 * CLUSTER; // clusters gathered into one write
  private static final byte[] ZERO_CLUSTER = new byte[CLUSTER];

  private final DirectFile file;
  private final long size;
  private final long[] l1;
  private final long l1Offset;
  private final long refTableOffset;
  private final int refTableClusters;
  private final int refBlocks;
  private final byte[] partial = new byte[CLUSTER];
  private final ByteBuffer run = DirectFile.aligned(RUN);
  private int partialLength;
  private long runOffset;
  private long guest; // the guest bytes taken so far
  private long clustersTaken;
  private long next; // where the next cluster goes: the end of the file
  private int l2Index = -1;
  private long l2Offset = -1; // where the current L2 table goes, once it maps a cluster
  private final long[] l2 = new long[L2_ENTRIES];

  private Qcow2Writer(DirectFile file, long size) {
    this.file = file;
    this.size = size;
    long guestClusters = (size + CLUSTER - 1) >>> CLUSTER_BITS;
    int l1Size = Math.toIntExact((guestClusters + L2_ENTRIES - 1) / L2_ENTRIES);
    this.l1 = new long[l1Size];
    long l1Clusters = clusters((long) l1Size * Long.BYTES);
    // The refcount blocks count themselves: grow them until they cover every cluster the image can hold.
    long blocks = 1;
    long tableClusters;
    while (true) {
      tableClusters = clusters(blocks * Long.BYTES);
      long most = 1 + l1Clusters + tableClusters + blocks + l1Size + guestClusters;
      long needed = (most + REFCOUNTS_PER_BLOCK - 1) / REFCOUNTS_PER_BLOCK;
      if (needed <= blocks) {
        break;
      }
      blocks = needed;
    }
    this.l1Offset = CLUSTER;
    this.refTableOffset = l1Offset + l1Clusters * CLUSTER;
    this.refTableClusters = Math.toIntExact(tableClusters);
    this.refBlocks = Math.toIntExact(blocks);
    this.next = refTableOffset + (tableClusters + blocks) * CLUSTER;
  }

  /** A new image of {@code size} guest bytes at {@code path}, which must not exist; written directly if it can be. */
  static Qcow2Writer create(Path path, long size) throws IOException {
    return create(path, size, true);
  }

  /** The same, through the page cache if not {@code direct}. */
  static Qcow2Writer create(Path path, long size, boolean direct) throws IOException {
    if (size < 0 || size % 512 != 0) {
      throw new IllegalArgumentException("a qcow2 image's size is a multiple of 512 bytes, not " + size);
    }
    return new Qcow2Writer(DirectFile.create(path, direct), size);
  }

  /** Whether the image goes to the disk without the page cache. */
  boolean direct() {
    return file.direct();
  }

  /** Takes the guest view's next {@code length} bytes, which start at {@code at}. */
  void write(long at, byte[] data, int length) throws IOException {
    checkNext(at, length);
    guest += length;
    int offset = 0;
    while (length > 0) {
      if (partialLength > 0 || length < CLUSTER) {
        int n = Math.min(CLUSTER - partialLength, length);
        System.arraycopy(data, offset, partial, partialLength, n);
        partialLength += n;
        offset += n;
        length -= n;
        if (partialLength == CLUSTER) {
          cluster(partial, 0);
          partialLength = 0;
        }
      } else {
        cluster(data, offset);
        offset += CLUSTER;
        length -= CLUSTER;
      }
    }
  }

  /** Takes the guest view's next {@code length} bytes, from {@code at}, as zeros: their clusters stay unallocated. */
  void zeros(long at, long length) throws IOException {
    checkNext(at, length);
    long end = at + length;
    if (partialLength > 0) { // the cluster in progress, finished as bytes
      int n = (int) Math.min(CLUSTER - partialLength, length);
      write(at, ZERO_CLUSTER, n);
      at += n;
    }
    long whole = (end - at) / CLUSTER; // from a cluster's start: no L2 entry, nothing written
    clustersTaken += whole;
    guest += whole * CLUSTER;
    write(at + whole * CLUSTER, ZERO_CLUSTER, (int) (end - at - whole * CLUSTER)); // a last part, as bytes
  }

  private void checkNext(long at, long length) throws IOException {
    if (at != guest) {
      throw new IOException("guest bytes at " + at + " given where the image's next bytes are at " + guest);
    }
    if (length > size - guest) {
      throw new IOException("more guest bytes than the image's " + size);
    }
  }

  /** Writes the metadata once every guest byte is in, and makes the image durable. */
  void finish() throws IOException {
    if (guest != size) {
      throw new IOException("the image's " + size + " guest bytes ended after " + guest);
    }
    if (partialLength > 0) {
      Arrays.fill(partial, partialLength, CLUSTER, (byte) 0);
      cluster(partial, 0);
      partialLength = 0;
    }
    flushRun();
    flushL2();
    ByteBuffer table = ByteBuffer.allocate((int) clusters((long) l1.length * Long.BYTES) * CLUSTER);
    table.asLongBuffer().put(l1);
    writeAt(table.clear(), l1Offset);
    long clusters = next >>> CLUSTER_BITS; // all in use, each once
    ByteBuffer refTable = ByteBuffer.allocate(refTableClusters * CLUSTER);
    ByteBuffer block = ByteBuffer.allocate(CLUSTER);
    for (int b = 0; b < refBlocks; b++) {
      long at = refTableOffset + ((long) refTableClusters + b) * CLUSTER;
      refTable.putLong(b * Long.BYTES, at);
      block.clear();
      long first = (long) b * REFCOUNTS_PER_BLOCK;
      for (int i = 0; i < REFCOUNTS_PER_BLOCK; i++) {
        block.putShort(first + i < clusters ? (short) 1 : 0);
      }
      writeAt(block.flip(), at);
    }
    writeAt(refTable, refTableOffset);
    writeAt(header(), 0);
    file.finish(next, true);
  }

  @Override
  public void close() throws IOException {
    file.close();
  }

  private ByteBuffer header() {
    ByteBuffer h = ByteBuffer.allocate(CLUSTER); // the rest of the cluster: no header extension
    h.putInt(0x514649fb).putInt(3); // "QFI\xfb", version
    h.putLong(0).putInt(0); // no backing file
    h.putInt(CLUSTER_BITS).putLong(size).putInt(0); // no encryption
    h.putInt(l1.length).putLong(l1Offset);
    h.putLong(refTableOffset).putInt(refTableClusters);
    h.putInt(0).putLong(0); // no snapshots
    h.putLong(0).putLong(0).putLong(0); // incompatible, compatible and autoclear features: none
    h.putInt(4).putInt(104); // 16-bit refcounts; the header's length
    return h.clear();
  }

  private void cluster(byte[] data, int offset) throws IOException {
    long index = clustersTaken++;
    if (StateFiles.allZero(data, offset, CLUSTER)) {
      return;
    }
    int table = (int) (index / L2_ENTRIES);
    if (table != l2Index) {
      flushL2();
      l2Index = table;
    }
    if (l2Offset < 0) {
      flushRun();
      l2Offset = next;
      next += CLUSTER;
    }
    if (!run.hasRemaining()) {
      flushRun();
    }
    if (run.position() == 0) {
      runOffset = next;
    }
    l2[(int) (index % L2_ENTRIES)] = next | COPIED;
    next += CLUSTER;
    run.put(data, offset, CLUSTER);
  }

  private void flushRun() throws IOException {
    if (run.position() > 0) {
      writeAt(run.flip(), runOffset);
      run.clear();
    }
  }

  private void flushL2() throws IOException {
    if (l2Offset >= 0) {
      ByteBuffer table = ByteBuffer.allocate(CLUSTER);
      table.asLongBuffer().put(l2);
      writeAt(table, l2Offset);
      l1[l2Index] = l2Offset | COPIED;
      Arrays.fill(l2, 0);
      l2Offset = -1;
    }
  }

  private void writeAt(ByteBuffer b, long position) throws IOException {
    if (b.isDirect()) {
      file.writeAligned(b, position);
    } else {
      file.write(b.array(), b.arrayOffset() + b.position(), b.remaining(), position);
    }
  }

  private static long clusters(long bytes) {
    return Math.max(1, (bytes + CLUSTER - 1) >>> CLUSTER_BITS);
  }
}
