package io.lencap.core;

import io.lencap.spi.Chunking;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Cuts a byte stream into chunks: fixed-size, or content-defined with a gear rolling hash and
 * normalized chunking (FastCDC, Xia et al. 2016): boundaries follow the content, so an insertion
 * shifts only nearby chunks. Emits each chunk as an exact-size array.
 */
final class Chunker {
  private static final long[] GEAR = new long[256];

  static {
    SplittableRandom random = new SplittableRandom(0x4c656e636170L); // fixed: boundaries must be stable
    for (int i = 0; i < GEAR.length; i++) {
      GEAR[i] = random.nextLong();
    }
  }

  private final Chunking chunking;
  private final Consumer<byte[]> sink;
  private final long maskSmall;
  private final long maskLarge;
  private byte[] buffer;
  private int filled;

  Chunker(Chunking chunking, Consumer<byte[]> sink) {
    this.chunking = chunking;
    this.sink = sink;
    int bits = 31 - Integer.numberOfLeadingZeros(chunking.average());
    this.maskSmall = mask(bits + 2);
    this.maskLarge = mask(bits - 2);
    this.buffer = new byte[Math.min(chunking.max(), 1 << 16)];
  }

  /** True when nothing is buffered: the next byte starts a chunk. */
  boolean atBoundary() {
    return filled == 0;
  }

  void write(byte[] data, int offset, int length) {
    while (length > 0) {
      if (filled == buffer.length) {
        if (buffer.length < chunking.max()) {
          buffer = java.util.Arrays.copyOf(buffer, Math.min(chunking.max(), buffer.length * 2));
        } else {
          emitUpTo(cutPoint(filled));
          continue;
        }
      }
      int n = Math.min(length, buffer.length - filled);
      System.arraycopy(data, offset, buffer, filled, n);
      filled += n;
      offset += n;
      length -= n;
      if (filled == chunking.max()) {
        emitUpTo(cutPoint(filled));
      }
    }
  }

  /** Emits what is buffered, as one or more chunks. */
  void finish() {
    while (filled > 0) {
      emitUpTo(filled <= chunking.min() ? filled : cutPoint(filled));
    }
  }

  private void emitUpTo(int end) {
    byte[] chunk = java.util.Arrays.copyOf(buffer, end);
    System.arraycopy(buffer, end, buffer, 0, filled - end);
    filled -= end;
    sink.accept(chunk);
  }

  /** The end of the first chunk in buffer[0, available): a content boundary, or max/available. */
  private int cutPoint(int available) {
    if (chunking.kind() == Chunking.Kind.FIXED) {
      return Math.min(available, chunking.max());
    }
    int end = Math.min(available, chunking.max());
    if (end <= chunking.min()) {
      return end;
    }
    int normal = Math.min(end, chunking.average());
    long hash = 0;
    int i = chunking.min();
    for (; i < normal; i++) {
      hash = (hash << 1) + GEAR[buffer[i] & 0xff];
      if ((hash & maskSmall) == 0) {
        return i + 1;
      }
    }
    for (; i < end; i++) {
      hash = (hash << 1) + GEAR[buffer[i] & 0xff];
      if ((hash & maskLarge) == 0) {
        return i + 1;
      }
    }
    return end;
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
