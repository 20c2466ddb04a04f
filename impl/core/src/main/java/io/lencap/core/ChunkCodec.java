package io.lencap.core;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * How objects are named and laid out in the store: a format byte, then the payload (raw, or zstd when
 * that saves at least 3 %). With an encryption key, every object is sealed with AES-256-GCM (random
 * nonce, the object's key as associated data, so objects cannot be swapped) and chunk ids are
 * HMAC-SHA-256 of the content instead of SHA-256, so that ids reveal nothing about known plaintexts.
 */
final class ChunkCodec {
  static final byte RAW = 0;
  static final byte ZSTD = 1;
  static final byte SEALED = 2;
  private static final int LEVEL = 1; // fastest level: hashing and compressing must keep up with disks
  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;
  /**
   * Compression output reused per thread, kept up to the default chunkings' largest chunk (1 MiB): larger
   * objects get an array of their own, so that no thread holds more than about 1 MiB.
   */
  private static final int SCRATCH_MAX = (int) Zstd.compressBound(1 << 20) + 1;
  /** Frees a thread's zstd context once the thread (and so its {@link Compressor}) is gone. */
  private static final Cleaner CLEANER = Cleaner.create();
  private static final byte[] ZEROS = new byte[64 << 10];
  private static final ThreadLocal<Compressor> COMPRESSOR = ThreadLocal.withInitial(Compressor::new);

  /**
   * One thread's zstd context and output array. A context per call (what {@code Zstd.compress} does)
   * allocated and cleared zstd's tables for every chunk: {@code memset} was a seventh of the hashing
   * threads' CPU samples.
   */
  private static final class Compressor {
    final ZstdCompressCtx ctx = new ZstdCompressCtx().setLevel(LEVEL);
    byte[] out = new byte[0];

    Compressor() {
      ZstdCompressCtx c = ctx;
      CLEANER.register(this, c::close);
    }
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  });

  /** Thrown when an object cannot be opened: damaged, or sealed under another key. */
  static final class UnreadableException extends Exception {
    private static final long serialVersionUID = 1L;

    UnreadableException(String message) {
      super(message);
    }
  }

  private final Optional<SecretKeySpec> sealKey;
  private final ThreadLocal<Mac> idMac;
  private final SecureRandom random = new SecureRandom();
  private final Map<Integer, String> zeroIds = new ConcurrentHashMap<>();

  private ChunkCodec(Optional<byte[]> key) {
    this.sealKey = key.map(k -> new SecretKeySpec(derive(k, "lencap seal"), "AES"));
    this.idMac = key.map(k -> ThreadLocal.withInitial(() -> hmac(derive(k, "lencap chunk id")))).orElse(null);
  }

  static ChunkCodec plain() {
    return new ChunkCodec(Optional.empty());
  }

  /** From the store secret {@code encryption.key}: 32 bytes, base64-encoded. */
  static ChunkCodec of(Optional<Secret> encryptionKey) {
    if (encryptionKey.isEmpty()) {
      return plain();
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(encryptionKey.get().reveal());
    } catch (IllegalArgumentException e) {
      throw new InvalidSpecException("storeSecrets.encryption.key", "must be base64");
    }
    if (key.length != 32) {
      throw new InvalidSpecException("storeSecrets.encryption.key", "must be 32 bytes (base64), was " + key.length);
    }
    return new ChunkCodec(Optional.of(key));
  }

  boolean sealed() {
    return sealKey.isPresent();
  }

  /** The content address of a chunk. */
  String id(byte[] data, int offset, int length) {
    if (isZero(data, offset, length)) {
      // Sparse disks, LUNs and memory images are mostly zero chunks: a vectorised compare is ~50x cheaper than a
      // hash, and the id of zeros of each length is computed once per codec.
      return zeroId(length);
    }
    return digest(data, offset, length);
  }

  /** Whether {@code id} names {@code length} zero bytes: such a chunk's content is known without reading it. */
  boolean isZero(String id, int length) {
    return id.equals(zeroId(length));
  }

  private String zeroId(int length) {
    return zeroIds.computeIfAbsent(length, n -> digest(new byte[n], 0, n));
  }

  /** The id computed the long way, whatever the content. */
  String digest(byte[] data, int offset, int length) {
    if (idMac != null) {
      Mac mac = idMac.get();
      mac.update(data, offset, length);
      return HexFormat.of().formatHex(mac.doFinal());
    }
    MessageDigest md = SHA256.get();
    md.update(data, offset, length);
    return HexFormat.of().formatHex(md.digest());
  }

  /** Whether the range holds only zero bytes; returns at the first other byte. */
  static boolean isZero(byte[] data, int offset, int length) {
    for (int at = offset, end = offset + length; at < end; at += ZEROS.length) {
      int n = Math.min(ZEROS.length, end - at);
      if (Arrays.mismatch(data, at, at + n, ZEROS, 0, n) >= 0) {
        return false;
      }
    }
    return true;
  }

  /** The stored form of an object's raw bytes, for the object named {@code objectKey}. */
  byte[] encode(String objectKey, byte[] raw) {
    byte[] plain = compressed(raw, 0, raw.length, null);
    return sealKey.isEmpty() ? plain : seal(objectKey, plain);
  }

  /**
   * What {@link #encode} returns for the raw bytes {@code framed[1, framed.length)}, where {@code framed[0]} is
   * free (as {@link Chunker} emits chunks): without an encryption key, a chunk that stays raw is encoded in
   * place, its format byte written into {@code framed[0]}, and {@code framed} itself returned: no copy of it.
   */
  byte[] encodeFramed(String objectKey, byte[] framed) {
    if (sealKey.isPresent()) {
      return seal(objectKey, compressed(framed, 1, framed.length - 1, null));
    }
    return compressed(framed, 1, framed.length - 1, framed);
  }

  private byte[] seal(String objectKey, byte[] plain) {
    try {
      byte[] nonce = new byte[NONCE];
      random.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, sealKey.get(), new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(objectKey.getBytes(StandardCharsets.UTF_8));
      byte[] sealedBytes = c.doFinal(plain);
      return ByteBuffer.allocate(1 + NONCE + sealedBytes.length).put(SEALED).put(nonce).put(sealedBytes).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /**
   * The format byte and the zstd frame when that saves at least 3 %, else the format byte and the raw
   * bytes. Compresses straight behind the format byte into one array per thread, sized for the largest
   * chunk: one exact-size copy per object, not a compressed array, then another with its header. Raw bytes
   * given in {@code framed[1, ...)} (else {@code framed} is null) stay there: {@code framed} is the result.
   */
  private static byte[] compressed(byte[] raw, int offset, int length, byte[] framed) {
    int bound = (int) Math.min(Integer.MAX_VALUE - 1, Zstd.compressBound(length));
    Compressor c = COMPRESSOR.get();
    byte[] out = c.out;
    if (out.length < bound + 1) {
      out = new byte[bound + 1];
      if (out.length <= SCRATCH_MAX) {
        c.out = out;
      }
    }
    int n = c.ctx.compressByteArray(out, 1, bound, raw, offset, length);
    if (n < length - length / 32) {
      out[0] = ZSTD;
      return Arrays.copyOf(out, 1 + n);
    }
    if (framed != null) {
      framed[0] = RAW;
      return framed;
    }
    byte[] stored = new byte[length + 1];
    stored[0] = RAW;
    System.arraycopy(raw, offset, stored, 1, length);
    return stored;
  }

  /**
   * Whether a stored object of {@code storedSize} bytes can be the encoding of {@code rawLength} raw
   * bytes: raw (exactly one byte more) or compressed (smaller by the margin {@link #encode} requires),
   * plus the seal's nonce and tag when encrypted. Catches a truncated or emptied chunk without reading it.
   */
  boolean plausibleSize(int rawLength, long storedSize) {
    long body = storedSize - (sealKey.isPresent() ? 1 + NONCE + TAG_BITS / 8 : 0) - 1;
    return body == rawLength || (body > 0 && body < rawLength - rawLength / 32);
  }

  /** Records (manifests, journal records) decode to at most this many bytes. */
  static final int MAX_RECORD = 256 << 20;

  /** The raw bytes of a stored record (a manifest, a journal record): at most {@link #MAX_RECORD}. */
  byte[] decode(String objectKey, byte[] stored) throws UnreadableException {
    return decode(objectKey, stored, -1);
  }

  /**
   * The raw bytes of a stored object, which must be exactly {@code expectedLength} long (or at most
   * {@link #MAX_RECORD} when it is -1). A frame that declares another size is refused before anything is
   * decompressed: a crafted object cannot make the reader allocate what it declares.
   */
  byte[] decode(String objectKey, byte[] stored, int expectedLength) throws UnreadableException {
    return decode(objectKey, stored, expectedLength, expectedLength >= 0 ? expectedLength : MAX_RECORD);
  }

  /** The raw bytes of a stored object of at most {@code maxLength} bytes (a chunk delta). */
  byte[] decodeAtMost(String objectKey, byte[] stored, int maxLength) throws UnreadableException {
    return decode(objectKey, stored, -1, maxLength);
  }

  private byte[] decode(String objectKey, byte[] stored, int expectedLength, int maxLength)
      throws UnreadableException {
    ByteBuffer raw = view(objectKey, stored, expectedLength, maxLength);
    if (raw.arrayOffset() == 0 && raw.remaining() == raw.array().length) {
      return raw.array();
    }
    return Arrays.copyOfRange(raw.array(), raw.arrayOffset(), raw.arrayOffset() + raw.remaining());
  }

  /**
   * The raw bytes of a stored chunk of {@code expectedLength} bytes, as {@link #decode(String, byte[], int)} returns
   * them, but as a view: a chunk stored raw is not copied out of {@code stored}, which the view shares.
   */
  ByteBuffer decodeChunk(String objectKey, byte[] stored, int expectedLength) throws UnreadableException {
    return view(objectKey, stored, expectedLength, expectedLength);
  }

  /** The raw bytes of a stored object, in {@code stored} itself where it holds them as they are. */
  private ByteBuffer view(String objectKey, byte[] stored, int expectedLength, int maxLength)
      throws UnreadableException {
    if (stored.length == 0) {
      throw new UnreadableException("empty object");
    }
    if (stored[0] == SEALED) {
      if (sealKey.isEmpty()) {
        throw new UnreadableException("the store is encrypted: give the store secret encryption.key");
      }
      if (stored.length < 1 + NONCE + TAG_BITS / 8 + 1) { // format, nonce, tag and at least a sealed format byte
        throw new UnreadableException("sealed object of " + stored.length + " bytes is too short");
      }
      try {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.DECRYPT_MODE, sealKey.get(), new GCMParameterSpec(TAG_BITS, stored, 1, NONCE));
        c.updateAAD(objectKey.getBytes(StandardCharsets.UTF_8));
        stored = c.doFinal(stored, 1 + NONCE, stored.length - 1 - NONCE);
      } catch (GeneralSecurityException | RuntimeException e) { // a provider may throw unchecked on bad input
        throw new UnreadableException("cannot decrypt: wrong encryption.key, or the object was altered");
      }
      if (stored.length == 0) {
        throw new UnreadableException("empty sealed content");
      }
    } else if (sealKey.isPresent()) {
      throw new UnreadableException("stored unencrypted, but an encryption.key was given");
    }
    // The payload is stored[1, stored.length): read in place, never copied out first.
    int payload = stored.length - 1;
    switch (stored[0]) {
      case RAW:
        if (expectedLength >= 0 && payload != expectedLength) {
          throw new UnreadableException(payload + " bytes where " + expectedLength + " were expected");
        }
        if (payload > maxLength) {
          throw new UnreadableException(payload + " bytes where at most " + maxLength + " were expected");
        }
        return ByteBuffer.wrap(stored, 1, payload).slice();
      case ZSTD:
        long size;
        try {
          size = Zstd.getFrameContentSize(stored, 1, payload);
        } catch (RuntimeException e) { // zstd-jni indexes a frame too short for its header
          throw new UnreadableException("damaged zstd frame: " + e);
        }
        if (size < 0 || size > Integer.MAX_VALUE) {
          throw new UnreadableException("damaged zstd frame");
        }
        if (expectedLength >= 0 ? size != expectedLength : size > maxLength) {
          throw new UnreadableException("zstd frame declares " + size + " bytes where "
              + (expectedLength >= 0 ? Integer.toString(expectedLength) : "at most " + maxLength) + " were expected");
        }
        byte[] out = new byte[(int) size];
        long n;
        try {
          n = Zstd.decompressByteArray(out, 0, out.length, stored, 1, payload);
        } catch (RuntimeException e) {
          throw new UnreadableException("damaged zstd frame: " + e.getMessage());
        }
        if (Zstd.isError(n)) {
          throw new UnreadableException("damaged zstd frame: " + Zstd.getErrorName(n));
        }
        return ByteBuffer.wrap(out, 0, (int) n).slice(); // shorter than declared: the caller's length check fails
      default:
        throw new UnreadableException("unknown format " + stored[0]);
    }
  }

  private static byte[] derive(byte[] key, String purpose) {
    return hmac(key).doFinal(purpose.getBytes(StandardCharsets.UTF_8));
  }

  /** HMAC-SHA256 under a key: chunk ids of encrypted stores, record seals. */
  static Mac hmac(byte[] key) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(key, "HmacSHA256"));
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
