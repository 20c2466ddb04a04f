package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.CollectReport;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.Secret;
import io.lencap.spi.BlobBackend;
import io.lencap.testing.FileVolumeProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.DeleteMarkerEntry;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectLockRetention;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Immutable checkpoints on real Ceph RGW with S3 Object Lock (GOVERNANCE, one day): neither Lencap's
 * retention, its collection, its delete nor a direct S3 delete by version id removes a locked checkpoint;
 * once the date has passed it is collected normally. "The date has passed" is produced, not waited for:
 * the test shortens the objects' retention with the governance bypass, which this RGW honours (see
 * docs/IMMUTABILITY.md), and then polls with a deadline.
 */
class ObjectLockIT {
  private static final String BUCKET = "lencap-lock-" + UUID.randomUUID().toString().substring(0, 8);
  private static final int CHUNK = 256 << 10;
  private static final int VOLUME_BYTES = 8 * CHUNK;
  private static CephCluster ceph;
  private static S3AsyncClient s3;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
    Map<String, Secret> keys = ceph.secrets();
    s3 = S3AsyncClient.builder().endpointOverride(URI.create(ceph.endpoint())).forcePathStyle(true)
        .region(Region.of(ceph.options().getOrDefault(S3BackendProvider.REGION, "us-east-1")))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
            keys.get(S3BackendProvider.ACCESS_KEY).reveal(), keys.get(S3BackendProvider.SECRET_KEY).reveal())))
        .build();
  }

  /** Removes the bucket: its objects are locked in GOVERNANCE mode, which the bypass lifts (tests only). */
  @AfterAll
  static void removeBucket() {
    if (s3 == null) {
      return;
    }
    try {
      ListObjectVersionsResponse page;
      do {
        page = s3.listObjectVersions(b -> b.bucket(BUCKET)).join();
        for (ObjectVersion v : page.versions()) {
          s3.deleteObject(b -> b.bucket(BUCKET).key(v.key()).versionId(v.versionId()).bypassGovernanceRetention(true))
              .join();
        }
        for (DeleteMarkerEntry m : page.deleteMarkers()) {
          s3.deleteObject(b -> b.bucket(BUCKET).key(m.key()).versionId(m.versionId())).join();
        }
      } while (Boolean.TRUE.equals(page.isTruncated()));
      s3.deleteBucket(b -> b.bucket(BUCKET)).join();
    } finally {
      s3.close();
    }
  }

  private static Map<String, String> options() {
    Map<String, String> o = new HashMap<>(ceph.options());
    o.put(S3BackendProvider.LOCK_MODE, "governance");
    o.put(S3BackendProvider.LOCK_DAYS, "1");
    return o;
  }

  private static Lencap open(URI store) {
    return open(store, Map.of());
  }

  private static Lencap open(URI store, Map<String, String> more) {
    Lencap.Builder b = Lencap.builder().store(store);
    options().forEach(b::storeOption);
    more.forEach(b::storeOption);
    ceph.secrets().forEach(b::storeSecret);
    return b.build();
  }

  private static Encapsulation group(Path volume) {
    return Encapsulation.builder("g").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).property("chunkBytes", Integer.toString(CHUNK))
        .build()).build();
  }

  @Test
  void aLockedCheckpointResistsEveryDeleteUntilItsDateThenIsCollected() throws Exception {
    String prefix = "lock-" + UUID.randomUUID();
    URI store = URI.create("s3://" + BUCKET + "/" + prefix);
    byte[] content = new byte[VOLUME_BYTES];
    new Random(7).nextBytes(content);
    Path volume = Files.write(dir.resolve("vol"), content);
    String firstChunk = "chunks/" + chunkId(content, 0).substring(0, 2) + "/" + chunkId(content, 0);

    // A chunk per object, so that c1's own chunk is an object a collection can take once its date passes (in a
    // pack, it would stay with the chunks c2 names there).
    try (Lencap lencap = open(store, Map.of("packs", "false")); BlobBackend backend = new S3BackendProvider()
        .open(store, options(), ceph.secrets())) {
      Checkpoint c1 = lencap.capture(group(volume)).get(5, TimeUnit.MINUTES);
      for (int i = 0; i < CHUNK; i += 4096) { // c2 differs in every block of its first chunk only: stored whole,
        content[i] ^= 1; // not as a block delta on c1's, so c1's first chunk is c1's alone
      }
      Files.write(volume, content);
      Checkpoint c2 = lencap.capture(group(volume)).get(5, TimeUnit.MINUTES);
      assertEquals(9, backend.list("chunks/").size());
      assertTrue(backend.exists(firstChunk), "chunk ids are SHA-256 of the content: " + backend.list("chunks/"));

      // Every chunk and manifest is locked, in the mode asked, for at least a day.
      Instant dayAhead = Instant.now().plus(Duration.ofDays(1));
      for (String key : keys(prefix, "chunks/", "checkpoints/")) {
        ObjectLockRetention r = s3.getObjectRetention(b -> b.bucket(BUCKET).key(key)).join().retention();
        assertEquals(ObjectLockRetentionMode.GOVERNANCE, r.mode(), key);
        assertFalse(r.retainUntilDate().isBefore(dayAhead), key + " locked until " + r.retainUntilDate());
      }

      // Lencap's retention keeps c1 and says why; its delete fails; a collection deletes nothing.
      RetentionPlan plan = lencap.prune("g", Retention.builder().keepLast(1).build(), false).get(1, TimeUnit.MINUTES);
      assertEquals(List.of(c1.id(), c2.id()), plan.kept());
      assertTrue(plan.decisions().get(0).reasons().get(0).startsWith("locked until "), plan.toString());
      ExecutionException refused = assertThrows(ExecutionException.class,
          () -> lencap.delete("g", c1.id()).get(1, TimeUnit.MINUTES));
      assertTrue(String.valueOf(refused.getCause().getMessage()).contains("locked until"), refused.toString());
      assertEquals(2, lencap.checkpoints("g").get(1, TimeUnit.MINUTES).size());

      // A client with the store's credentials: a delete by version id is refused; a plain delete only adds a
      // delete marker, which does not hide the chunk from Lencap.
      String chunkKey = prefix + "/" + firstChunk;
      String version = versions(chunkKey).get(0).versionId();
      CompletionException denied = assertThrows(CompletionException.class,
          () -> s3.deleteObject(b -> b.bucket(BUCKET).key(chunkKey).versionId(version)).join());
      assertEquals(403, ((S3Exception) denied.getCause()).statusCode());
      assertTrue(s3.deleteObject(b -> b.bucket(BUCKET).key(chunkKey)).join().deleteMarker());
      assertTrue(lencap.verify("g").get(5, TimeUnit.MINUTES).ok());

      // c1's manifest reaches its date (shortened with the governance bypass): retention deletes c1.
      expire(prefix + "/checkpoints/");
      poll(() -> lencap.prune("g", Retention.builder().keepLast(1).build(), false).join().removed()
          .equals(List.of(c1.id())), "retention deletes c1 once its lock ends");
      // Its own chunk is still locked: the collection skips it without failing.
      CollectReport skipped = lencap.collect().get(1, TimeUnit.MINUTES);
      assertEquals(0, skipped.deleted());
      assertEquals(1, skipped.skippedLocked(), skipped.toString());
      assertTrue(skipped.lockedUntil().isPresent(), skipped.toString());
      assertTrue(backend.exists(firstChunk));

      // The chunk's date passes: collected normally, every version and the delete marker gone.
      expire(prefix + "/chunks/");
      poll(() -> lencap.collect().join().deleted() == 1, "the collection deletes c1's chunk once its lock ends");
      assertFalse(backend.exists(firstChunk));
      assertTrue(versions(chunkKey).isEmpty());
      assertTrue(s3.listObjectVersions(b -> b.bucket(BUCKET).prefix(chunkKey)).join().deleteMarkers().isEmpty());
      assertEquals(8, backend.list("chunks/").size());
      assertTrue(lencap.verify("g").get(5, TimeUnit.MINUTES).ok());
    }
  }

  @Test
  void blockDeltasAndTheirPackedBasesAreLockedAndRestore() throws Exception {
    URI store = URI.create("s3://" + BUCKET + "/lock-deltas-" + UUID.randomUUID());
    String prefix = store.getPath().substring(1);
    byte[] content = new byte[VOLUME_BYTES];
    new Random(8).nextBytes(content);
    Path volume = Files.write(dir.resolve("vol"), content);
    try (Lencap lencap = open(store); BlobBackend backend = new S3BackendProvider().open(store, options(),
        ceph.secrets())) {
      lencap.capture(group(volume)).get(5, TimeUnit.MINUTES);
      content[3 * CHUNK + 5 * 4096 + 1] ^= 1; // one 4 KiB block of the fourth chunk
      Files.write(volume, content);
      Checkpoint c2 = lencap.capture(group(volume)).get(5, TimeUnit.MINUTES);
      assertTrue(c2.storedBytes() < 4096 + 512, "one changed block stored " + c2.storedBytes() + " bytes");
      assertEquals(List.of(), backend.list("deltas/"), "the delta is in the second capture's pack");

      Instant dayAhead = Instant.now().plus(Duration.ofDays(1));
      List<String> locked = keys(prefix, "deltas/", "chunks/", "packs/");
      assertEquals(List.of(), backend.list("chunks/"), "the 8 chunks are in a pack, its base with them");
      assertEquals(2, locked.size(), "the first capture's pack and the second's, with the delta: " + locked);
      for (String key : locked) {
        ObjectLockRetention r = s3.getObjectRetention(b -> b.bucket(BUCKET).key(key)).join().retention();
        assertEquals(ObjectLockRetentionMode.GOVERNANCE, r.mode(), key);
        assertFalse(r.retainUntilDate().isBefore(dayAhead), key + " locked until " + r.retainUntilDate());
      }
      assertTrue(lencap.verify("g").get(5, TimeUnit.MINUTES).ok());
      Files.write(volume, new byte[VOLUME_BYTES]);
      lencap.restore(group(volume), c2.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(content, Files.readAllBytes(volume));
    }
  }

  /** Locks every version under the prefix until two seconds from now, which only the bypass allows. */
  private static void expire(String prefix) {
    Instant soon = Instant.now().plusSeconds(2);
    for (ObjectVersion v : s3.listObjectVersions(b -> b.bucket(BUCKET).prefix(prefix)).join().versions()) {
      s3.putObjectRetention(b -> b.bucket(BUCKET).key(v.key()).versionId(v.versionId()).bypassGovernanceRetention(true)
          .retention(r -> r.mode(ObjectLockRetentionMode.GOVERNANCE).retainUntilDate(soon))).join();
    }
  }

  private static void poll(BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, what + " within 60 s");
      Thread.sleep(250); // polling the storage's clock against the retain-until date, with a deadline
    }
  }

  private static List<ObjectVersion> versions(String key) {
    return s3.listObjectVersions(b -> b.bucket(BUCKET).prefix(key)).join().versions().stream()
        .filter(v -> v.key().equals(key)).toList();
  }

  private static List<String> keys(String prefix, String... under) {
    return java.util.Arrays.stream(under).flatMap(u -> s3.listObjectVersions(b -> b.bucket(BUCKET)
        .prefix(prefix + "/" + u)).join().versions().stream().map(ObjectVersion::key)).toList();
  }

  private static String chunkId(byte[] content, int index) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(content, index * CHUNK, CHUNK);
    return HexFormat.of().formatHex(md.digest());
  }
}
