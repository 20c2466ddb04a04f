package io.lencap.spi;

/**
 * How the store cuts an entry's bytes into chunks, the unit of dedup.
 *
 * <p>{@link #fixed} suits block devices and memory: chunk i covers bytes [i*size, (i+1)*size), so an
 * unchanged block maps to an unchanged chunk and differential restore compares block by block.
 * {@link #contentDefined} suits files: boundaries follow the content (a rolling hash), so an insertion
 * shifts only the chunks around it.
 *
 * @param min smallest chunk (equal to max for fixed chunking)
 * @param average target average chunk size
 * @param max largest chunk
 */
public record Chunking(Kind kind, int min, int average, int max) {
  /** Chunk size for block devices and images unless a provider has a reason to choose another. */
  public static final int DEFAULT_BLOCK_SIZE = 256 * 1024;
  /** Largest chunk any chunking may produce. */
  public static final int MAX_CHUNK = 8 * 1024 * 1024;

  public enum Kind {
    FIXED, CONTENT_DEFINED
  }

  public Chunking {
    if (min < 1 || average < min || max < average || max > MAX_CHUNK) {
      throw new IllegalArgumentException("chunking sizes must satisfy 1 <= min <= average <= max <= "
          + MAX_CHUNK + ", were " + min + ", " + average + ", " + max);
    }
    if (kind == Kind.FIXED && (min != average || average != max)) {
      throw new IllegalArgumentException("fixed chunking has one size");
    }
  }

  public static Chunking fixed(int size) {
    return new Chunking(Kind.FIXED, size, size, size);
  }

  /** Fixed chunks of {@link #DEFAULT_BLOCK_SIZE}. */
  public static Chunking blocks() {
    return fixed(DEFAULT_BLOCK_SIZE);
  }

  public static Chunking contentDefined(int min, int average, int max) {
    return new Chunking(Kind.CONTENT_DEFINED, min, average, max);
  }

  /** Content-defined chunks of 64 KiB to 1 MiB, 256 KiB on average. */
  public static Chunking contentDefined() {
    return contentDefined(64 * 1024, 256 * 1024, 1024 * 1024);
  }
}
