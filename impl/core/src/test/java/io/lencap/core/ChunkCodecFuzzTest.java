package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lencap.api.Secret;
import io.lencap.testing.Allocations;
import java.util.Arrays;
import java.util.Optional;

/**
 * Fuzz targets: {@link ChunkCodec} on stored objects it did not write. A store is shared and may be written by
 * someone else; what comes back from it is untrusted.
 *
 * <p>Contract of {@link #decode}: the first input byte picks the codec (even: plain, odd: sealed under a fixed
 * key), the rest is the stored object. Decoding returns bytes or throws {@link ChunkCodec.UnreadableException};
 * memory stays bounded by the record limit (256 MiB) whatever a frame declares. Any other exception is a finding.
 *
 * <p>Contract of {@link #roundTrip}: any bytes encode to an object that decodes to the same bytes, under both
 * codecs, and whose size {@link ChunkCodec#plausibleSize} accepts (a restore refuses chunks it does not).
 *
 * <p>Without {@code JAZZER_FUZZ=1} these run the inputs under {@code src/test/resources/io/lencap/core/
 * ChunkCodecFuzzTestInputs/<method>/}; {@code scripts/fuzz.sh} fuzzes them.
 */
class ChunkCodecFuzzTest {
  static final String KEY = "chunks/6e/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
  /** 32 bytes, base64: the sealed codec's key for seeds and fuzzing. */
  static final String SEAL_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  static final ChunkCodec PLAIN = ChunkCodec.plain();
  static final ChunkCodec SEALED = ChunkCodec.of(Optional.of(Secret.of(SEAL_KEY)));
  /** What a record may decode to (ChunkCodec's record limit), plus room for the decoder's own objects. */
  private static final long ALLOCATION_BOUND = (256L << 20) + (8L << 20);

  @FuzzTest(maxDuration = "10m")
  void decode(byte[] input) {
    if (input.length == 0) {
      return;
    }
    ChunkCodec codec = (input[0] & 1) == 0 ? PLAIN : SEALED;
    byte[] stored = Arrays.copyOfRange(input, 1, input.length);
    long bound = ALLOCATION_BOUND + 16L * input.length;
    // The first run of a path also loads (and instruments) classes on this thread: only an input that allocates
    // too much twice is a finding.
    long allocated = decode(codec, stored);
    if (allocated > bound && decode(codec, stored) > bound) {
      fail("decoding a " + stored.length + "-byte object allocated " + allocated + " bytes");
    }
  }

  private static long decode(ChunkCodec codec, byte[] stored) {
    long before = Allocations.ofThisThread();
    try {
      byte[] raw = codec.decode(KEY, stored);
      assertTrue(raw.length <= 256 << 20, "decoded " + raw.length + " bytes, more than a record may hold");
    } catch (ChunkCodec.UnreadableException refused) {
      // the documented outcome for a damaged or foreign object
    }
    return Allocations.ofThisThread() - before;
  }

  @FuzzTest(maxDuration = "10m")
  void roundTrip(byte[] raw) throws ChunkCodec.UnreadableException {
    for (ChunkCodec codec : new ChunkCodec[] {PLAIN, SEALED}) {
      byte[] stored = codec.encode(KEY, raw);
      assertArrayEquals(raw, codec.decode(KEY, stored));
      assertTrue(codec.plausibleSize(raw.length, stored.length),
          "an object of " + stored.length + " bytes encoding " + raw.length + " raw bytes is judged implausible");
    }
  }
}
