package io.lencap.core;

import io.lencap.spi.Chunking;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cuts a byte stream into chunks: fixed-size, or content-defined with a gear rolling hash and
 * normalized chunking (FastCDC, Xia et al. 2016): boundaries follow the content, so an insertion
 * shifts only nearby chunks. Emits each chunk as an exact-size array with one free byte in front, where
 * the store writes its format byte, so that a chunk stored raw is written from the array it was cut into.
 *
 * <p>The rule, which fixes what every store holds: a chunk ends after the first byte at offset {@code i >=
 * min} where the gear hash of its bytes [min, i] has the small mask's bits clear (below the average) or the
 * large mask's (from the average on), else at max; the tail ends the stream. The scan runs over the caller's
 * array where it can and resumes across writes: a byte is hashed once, and copied once, out of the caller's
 * array into its chunk, unless its chunk began in an earlier write (then it waits in {@code pending}).
 */
final class Chunker {
  private static final long[] GEAR = new long[256];
  private static final Map<Chunking, Integer> ZERO_CHUNK_LENGTHS = new ConcurrentHashMap<>();

  static {
    SplittableRandom random = new SplittableRandom(0x4c656e636170L); // fixed: boundaries must be stable
    for (int i = 0; i < GEAR.length; i++) {
      GEAR[i] = random.nextLong();
    }
  }

  /** Receives each chunk: its bytes are {@code framed[1, framed.length)}; {@code framed[0]} is free. */
  interface Sink {
    void accept(byte[] framed);
  }

  private final Sink sink;
  private final boolean fixed;
  private final int min;
  private final int average;
  private final int max;
  private final long maskSmall;
  private final long maskLarge;
  /** The current chunk's bytes from earlier writes, at pending[1, 1 + held). */
  private byte[] pending;
  private int held;
  /** The current chunk's bytes scanned for a boundary so far (all of them between writes). */
  private int scanned;
  /** The gear hash of the current chunk's bytes [min, scanned). */
  private long hash;

  Chunker(Chunking chunking, Sink sink) {
    this.sink = sink;
    this.fixed = chunking.kind() == Chunking.Kind.FIXED;
    this.min = chunking.min();
    this.average = chunking.average();
    this.max = chunking.max();
    int bits = 31 - Integer.numberOfLeadingZeros(chunking.average());
    this.maskSmall = mask(bits + 2);
    this.maskLarge = mask(bits - 2);
    // Grown on demand (once per writer, doubling): most entries of a tree are a few KiB, and a window of the
    // largest chunk for each was a third of a small-file capture's allocation.
    this.pending = new byte[1];
  }

  /**
   * The length of the chunk that zeros make from a boundary: every such chunk has it, since a chunk's cut depends on
   * its own bytes alone. Found once per chunking, by cutting zeros.
   */
  static int zeroChunkLength(Chunking chunking) {
    return ZERO_CHUNK_LENGTHS.computeIfAbsent(chunking, c -> {
      int[] cut = {0};
      Chunker chunker = new Chunker(c, framed -> cut[0] = framed.length - 1);
      byte[] zeros = new byte[64 << 10];
      while (cut[0] == 0) {
        chunker.write(zeros, 0, zeros.length);
      }
      return cut[0];
    });
  }

  /** True when nothing is buffered: the next byte starts a chunk. */
  boolean atBoundary() {
    return held == 0;
  }

  void write(byte[] data, int offset, int length) {
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    int end = offset + length;
    int at = offset; // data[at, end) belongs to the current chunk, after its held bytes
    while (at < end) {
      int limit = (int) Math.min(max, (long) held + (end - at));
      // The chunk's byte at offset i is data[at - held + i] for every i >= held, the only ones scanned here.
      int cut = fixed ? -1 : scan(data, at - held, limit);
      if (cut < 0) {
        if (limit < max) {
          break; // no boundary yet: keep the rest for the next write
        }
        cut = max;
      }
      int taken = cut - held;
      emit(data, at, taken);
      at += taken;
    }
    int rest = end - at;
    if (rest > 0) {
      if (pending.length < 1 + held + rest) {
        pending = Arrays.copyOf(pending, (int) Math.min(1L + max, Math.max(2L * pending.length, 1L + held + rest)));
      }
      System.arraycopy(data, at, pending, 1 + held, rest);
      held += rest;
    }
  }

  /** Emits what is buffered: the tail, in which the scan found no boundary. */
  void finish() {
    if (held > 0) {
      emit(pending, 0, 0);
    }
  }

  /** Emits the held bytes followed by {@code data[from, from + taken)} as one chunk, and starts the next. */
  private void emit(byte[] data, int from, int taken) {
    byte[] framed = new byte[1 + held + taken];
    System.arraycopy(pending, 1, framed, 1, held);
    System.arraycopy(data, from, framed, 1 + held, taken);
    held = 0;
    scanned = 0;
    hash = 0;
    sink.accept(framed);
  }

  /**
   * Scans the current chunk's bytes [scanned, limit), the byte at offset i being {@code b[base + i]}: returns the
   * chunk's length when a boundary is among them, else -1 with the hash kept for the next write.
   */
  private int scan(byte[] b, int base, int limit) {
    int i = Math.max(scanned, min);
    long h = hash;
    int normal = Math.min(limit, average);
    for (; i < normal; i++) {
      h = (h << 1) + GEAR[b[base + i] & 0xff];
      if ((h & maskSmall) == 0) {
        return i + 1;
      }
    }
    for (; i < limit; i++) {
      h = (h << 1) + GEAR[b[base + i] & 0xff];
      if ((h & maskLarge) == 0) {
        return i + 1;
      }
    }
    hash = h;
    scanned = Math.max(scanned, limit);
    return -1;
  }

  private static long mask(int bits) {
    // Spread the mask's bits over the word: the gear hash's high bits carry the most history.
    long m = 0;
    for (int b = 0; b < bits; b++) {
      m |= 1L << (63 - b * 2 % 64);
    }
    return m;
  }
}
