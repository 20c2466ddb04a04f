package io.lencap.core;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;

/**
 * Authenticates the records on which Lencap acts (journal records, leases): an HMAC-SHA256 of the record
 * and its object key, under a key that is never in the store. Whoever can write to the store but does
 * not hold the key can plant records; they are ignored, never acted on.
 *
 * <p>The key, first found: the store secret {@code record.key}; derived from {@code encryption.key};
 * else a key file on this host ({@code recordKeyFile} option, default {@code ~/.lencap/record.key},
 * created with mode 0600). Processes on several hosts that share a store share one of the first two,
 * or they cannot repair each other's interrupted operations.
 */
final class RecordSeal {
  private static final int MAC_BYTES = 32;
  private final byte[] key;

  private RecordSeal(byte[] key) {
    this.key = key;
  }

  static RecordSeal of(Map<String, Secret> secrets, Map<String, String> options) {
    Secret given = secrets.get("record.key");
    if (given != null) {
      byte[] k = given.reveal().getBytes(StandardCharsets.UTF_8);
      if (k.length < 16) {
        throw new InvalidSpecException("storeSecrets.record.key", "must be at least 16 characters");
      }
      return new RecordSeal(ChunkCodec.hmac(k).doFinal("lencap record key".getBytes(StandardCharsets.UTF_8)));
    }
    Secret encryption = secrets.get("encryption.key");
    if (encryption != null) {
      return new RecordSeal(ChunkCodec.hmac(encryption.reveal().getBytes(StandardCharsets.UTF_8))
          .doFinal("lencap record key".getBytes(StandardCharsets.UTF_8)));
    }
    Path file = Path.of(options.getOrDefault("recordKeyFile",
        Path.of(System.getProperty("user.home"), ".lencap", "record.key").toString()));
    return new RecordSeal(hostKey(file));
  }

  /** A key for tests: records sealed with it are authentic to this seal only. */
  static RecordSeal withKey(byte[] key) {
    return new RecordSeal(key.clone());
  }

  private static byte[] hostKey(Path file) {
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(file.getParent());
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        Path temp = Files.createTempFile(file.getParent(), ".record", ".key",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(temp, Base64.getEncoder().encode(k), StandardOpenOption.TRUNCATE_EXISTING);
        try {
          Files.createLink(file, temp); // atomic create: two processes starting at once agree on one key
        } catch (FileAlreadyExistsException raced) {
          // the other one's key stands
        } finally {
          Files.deleteIfExists(temp);
        }
      }
      byte[] k = Base64.getDecoder().decode(Files.readString(file).trim());
      if (k.length < 16) {
        throw new InvalidSpecException("storeOptions.recordKeyFile", file + " holds fewer than 16 key bytes");
      }
      return k;
    } catch (IOException | IllegalArgumentException e) {
      throw new InvalidSpecException("storeOptions.recordKeyFile", "cannot read or create the record key "
          + file + ": " + e.getMessage());
    }
  }

  /** The record's bytes with its MAC in front. */
  byte[] seal(String objectKey, byte[] record) {
    byte[] tag = tag(objectKey, record);
    byte[] out = Arrays.copyOf(tag, MAC_BYTES + record.length);
    System.arraycopy(record, 0, out, MAC_BYTES, record.length);
    return out;
  }

  /** The record, when its MAC is right for this object key; empty when it was planted or altered. */
  Optional<byte[]> open(String objectKey, byte[] sealed) {
    if (sealed.length < MAC_BYTES) {
      return Optional.empty();
    }
    byte[] record = Arrays.copyOfRange(sealed, MAC_BYTES, sealed.length);
    boolean authentic = MessageDigest.isEqual(Arrays.copyOf(sealed, MAC_BYTES), tag(objectKey, record));
    return authentic ? Optional.of(record) : Optional.empty();
  }

  /** The record without checking its MAC: only for sparing chunks, the one safe use of an unproven record. */
  static byte[] unchecked(byte[] sealed) {
    return Arrays.copyOfRange(sealed, Math.min(MAC_BYTES, sealed.length), sealed.length);
  }

  private byte[] tag(String objectKey, byte[] record) {
    Mac m = ChunkCodec.hmac(key);
    m.update(objectKey.getBytes(StandardCharsets.UTF_8));
    m.update((byte) 0);
    return m.doFinal(record);
  }
}
