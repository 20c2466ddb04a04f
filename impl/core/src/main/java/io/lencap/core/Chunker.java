package io.lencap.core;

import io.lencap.spi.Chunking;
import java.util.Arrays;
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
  /** Unconsumed bytes are buffer[start, filled): never more than one chunk's maximum. */
  private byte[] buffer;
  private int start;
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
    return filled == start;
  }

  void write(byte[] data, int offset, int length) {
    int max = chunking.max();
    while (length > 0) {
      if (filled == buffer.length) {
        if (start > 0) {
          // Move what is left to the front once the buffer is full, not after every chunk: the buffer holds
          // up to two maxima, so each byte moves at most once (it moved three times at 256 KiB chunks).
          System.arraycopy(buffer, start, buffer, 0, filled - start);
          filled -= start;
          start = 0;
        } else {
          buffer = Arrays.copyOf(buffer, (int) Math.min(2L * max, buffer.length * 2L));
        }
      }
      int n = Math.min(length, Math.min(buffer.length - filled, max - (filled - start)));
      System.arraycopy(data, offset, buffer, filled, n);
      filled += n;
      offset += n;
      length -= n;
      if (filled - start == max) {
        emit(cutPoint(max));
      }
    }
  }

  /** Emits what is buffered, as one or more chunks. */
  void finish() {
    while (filled > start) {
      int available = filled - start;
      emit(available <= chunking.min() ? available : cutPoint(available));
    }
  }

  private void emit(int length) {
    byte[] chunk = Arrays.copyOfRange(buffer, start, start + length);
    start += length;
    if (start == filled) {
      start = 0;
      filled = 0;
    }
    sink.accept(chunk);
  }

  /** The length of the first chunk in buffer[start, start + available): a content boundary, or max/available. */
  private int cutPoint(int available) {
    if (chunking.kind() == Chunking.Kind.FIXED) {
      return Math.min(available, chunking.max());
    }
    int end = Math.min(available, chunking.max());
    if (end <= chunking.min()) {
      return end;
    }
    byte[] b = buffer;
    int base = start;
    int normal = Math.min(end, chunking.average());
    long hash = 0;
    int i = chunking.min();
    for (; i < normal; i++) {
      hash = (hash << 1) + GEAR[b[base + i] & 0xff];
      if ((hash & maskSmall) == 0) {
        return i + 1;
      }
    }
    for (; i < end; i++) {
      hash = (hash << 1) + GEAR[b[base + i] & 0xff];
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
