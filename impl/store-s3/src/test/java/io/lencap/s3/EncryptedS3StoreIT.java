package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.Secret;
import io.lencap.testing.FileVolumeProvider;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest (store secret {@code encryption.key}) on an S3 store, s3proxy keeping the objects
 * as files: the right key restores, a wrong or missing key fails clearly and writes nothing, and the
 * stored bytes hold none of a known plaintext, which the same capture without a key does show. (Only
 * chunk content makes a fair control: manifests are compressed, so their plaintext is not literal
 * even without a key.)
 */
class EncryptedS3StoreIT {
  private static final String MARKER = "LENCAP-KNOWN-PLAINTEXT-7f3a9c";
  private static final int VOLUME_BYTES = 4 << 20;
  @TempDir
  static Path serverDir;
  private static S3ProxyServer server;

  @TempDir
  Path dir;

  @BeforeAll
  static void startServer() throws Exception {
    server = new S3ProxyServer(serverDir.resolve("objects"));
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  private static String newKey() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return Base64.getEncoder().encodeToString(k);
  }

  private static Lencap open(URI store, String key) {
    Lencap.Builder b = Lencap.builder().store(store);
    server.options().forEach(b::storeOption);
    S3ProxyServer.secrets().forEach(b::storeSecret);
    if (key != null) {
      b.storeSecret("encryption.key", Secret.of(key));
    }
    return b.build();
  }

  /** Random bytes with the marker every 4 KiB: incompressible around it, so the marker stays literal. */
  private static byte[] content() {
    byte[] b = new byte[VOLUME_BYTES];
    new Random(3).nextBytes(b);
    byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
    for (int off = 0; off + marker.length <= b.length; off += 4096) {
      System.arraycopy(marker, 0, b, off, marker.length);
    }
    return b;
  }

  @Test
  void rightKeyRestoresWrongKeyFailsClearlyAndNoPlaintextIsStored() throws Exception {
    Path volume = dir.resolve("volume");
    byte[] original = content();
    Files.write(volume, original);
    Encapsulation group = Encapsulation.builder("sealed")
        .resource(Resource.of("vol", ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + volume)).build();
    String key = newKey();
    URI store = URI.create("s3://sealed/store");
    Checkpoint cp;
    try (Lencap lencap = open(store, key)) {
      cp = lencap.capture(group).get(5, TimeUnit.MINUTES);
    }
    assertEquals(0, countFilesContaining("sealed", MARKER), "plaintext found in the encrypted store");
    assertTrue(bytesStored("sealed") >= VOLUME_BYTES, "the objects are where we look"); // incompressible

    Files.write(volume, new byte[VOLUME_BYTES]);
    try (Lencap wrong = open(store, newKey())) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> wrong.restore(group, cp.id()).get(5, TimeUnit.MINUTES));
      LencapException cause = assertInstanceOf(LencapException.class, e.getCause());
      assertTrue(cause.getMessage().contains("wrong encryption.key"), cause.getMessage());
      assertFalse(cause.getMessage().contains(key));
    }
    try (Lencap none = open(store, null)) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> none.checkpoints("sealed").get(1, TimeUnit.MINUTES));
      assertTrue(e.getCause().getMessage().contains("encryption.key"), e.getCause().getMessage());
    }
    assertArrayEquals(new byte[VOLUME_BYTES], Files.readAllBytes(volume), "a failed restore wrote nothing");

    try (Lencap right = open(store, key)) {
      right.restore(group, cp.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(original, Files.readAllBytes(volume));
      assertTrue(right.verify("sealed").get(5, TimeUnit.MINUTES).ok());
    }
  }

  @Test
  void withoutAKeyTheSameCaptureDoesStoreThePlaintext() throws Exception {
    Path volume = dir.resolve("volume");
    Files.write(volume, content());
    Encapsulation group = Encapsulation.builder("plain")
        .resource(Resource.of("vol", ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + volume)).build();
    try (Lencap lencap = open(URI.create("s3://plain/store"), null)) {
      lencap.capture(group).get(5, TimeUnit.MINUTES);
    }
    assertTrue(countFilesContaining("plain", MARKER) > 0, "the control store shows the marker");
  }

  /** Files of a bucket, as s3proxy stores them, that contain the text (all files for ""). */
  private static long countFilesContaining(String bucket, String text) throws Exception {
    byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
    try (Stream<Path> files = Files.walk(serverDir.resolve("objects").resolve(bucket))) {
      List<Path> regular = files.filter(Files::isRegularFile).toList();
      long n = 0;
      for (Path f : regular) {
        if (indexOf(Files.readAllBytes(f), needle) >= 0) {
          n++;
        }
      }
      return n;
    }
  }

  /** The bytes of every object of the bucket as the server holds them (chunks in packs or alone). */
  private static long bytesStored(String bucket) throws Exception {
    try (Stream<Path> files = Files.walk(serverDir.resolve("objects").resolve(bucket))) {
      long n = 0;
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        n += Files.size(f);
      }
      return n;
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
