package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Durability;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Resource;
import io.lencap.testing.FileVolumeProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiers with the real Ceph RGW as the durable store: a capture through a local tier returns while its copy
 * to RGW is held on a latch, the copy arrives once released (an event, then REPLICATED), and with the local
 * tier's directory deleted the checkpoint restores from RGW byte for byte. Prints the capture's wall time into
 * RGW directly and through the local tier, same data, same run.
 */
class TiersS3IT {
  private static final int CHUNK = 64 << 10;
  private static final int VOLUME_BYTES = 512 * CHUNK; // 32 MiB in 512 chunks
  private static CephCluster ceph;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @AfterEach
  void release() {
    CountDownLatch g = HeldS3BackendProvider.gate;
    if (g != null) {
      g.countDown();
    }
    HeldS3BackendProvider.gate = null;
  }

  private Encapsulation group(Path volume) {
    return Encapsulation.builder("g").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).property("chunkBytes", Integer.toString(CHUNK))
        .build()).build();
  }

  private Lencap tiered(Path local, String durable, BlockingQueue<LencapEvent> events) {
    Lencap.Builder b = Lencap.builder().store(local).durableStore(URI.create(durable)).listener(events::add);
    ceph.options().forEach(b::durableStoreOption);
    ceph.secrets().forEach(b::durableStoreSecret);
    return b.build();
  }

  private static <T extends LencapEvent> T next(BlockingQueue<LencapEvent> events, Class<T> type)
      throws InterruptedException {
    while (true) {
      LencapEvent e = events.poll(5, TimeUnit.MINUTES);
      assertNotNull(e, "no " + type.getSimpleName() + " within 5 minutes");
      if (type.isInstance(e)) {
        return type.cast(e);
      }
    }
  }

  private static byte[] sha256(Path p) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
  }

  @Test
  void aCaptureReturnsAtTheLocalCommitItsCopyReachesRgwAndRestoresWithoutTheLocalTier() throws Exception {
    byte[] content = new byte[VOLUME_BYTES];
    new Random(11).nextBytes(content);
    Path volume = Files.write(dir.resolve("vol"), content);
    byte[] expected = sha256(volume);

    long directNanos;
    Lencap.Builder direct = Lencap.builder().store(URI.create("s3://lencap-it/tiers-direct-" + UUID.randomUUID()));
    ceph.options().forEach(direct::storeOption);
    ceph.secrets().forEach(direct::storeSecret);
    try (Lencap rgw = direct.build()) {
      long t0 = System.nanoTime();
      rgw.capture(group(volume)).get(5, TimeUnit.MINUTES);
      directNanos = System.nanoTime() - t0;
    }

    String prefix = "lencap-it/tiers-" + UUID.randomUUID();
    Path local = dir.resolve("local");
    BlockingQueue<LencapEvent> events = new LinkedBlockingQueue<>();
    CountDownLatch gate = new CountDownLatch(1);
    HeldS3BackendProvider.gated = new CountDownLatch(1);
    HeldS3BackendProvider.gate = gate;
    Checkpoint cp;
    try (Lencap tiers = tiered(local, HeldS3BackendProvider.SCHEME + "://" + prefix, events)) {
      long t0 = System.nanoTime();
      cp = tiers.capture(group(volume)).get(5, TimeUnit.MINUTES);
      long tieredNanos = System.nanoTime() - t0;
      assertEquals(Durability.LOCAL, cp.durability());
      assertTrue(HeldS3BackendProvider.gated.await(5, TimeUnit.MINUTES), "the copy to RGW did not start");
      assertEquals(List.of(Durability.LOCAL), durabilities(tiers));

      long released = System.nanoTime();
      gate.countDown();
      assertEquals(cp.id(), next(events, LencapEvent.Replicated.class).checkpointId());
      long copyNanos = System.nanoTime() - released;
      assertEquals(List.of(Durability.REPLICATED), durabilities(tiers));
      System.out.printf("capture of %d MiB: into RGW directly %d ms; through the local tier %d ms (%.2f of direct),"
          + " its copy to RGW then %d ms%n", VOLUME_BYTES >> 20, directNanos / 1_000_000, tieredNanos / 1_000_000,
          (double) tieredNanos / directNanos, copyNanos / 1_000_000);
    }

    deleteTree(local); // the local tier lost
    Files.write(volume, new byte[VOLUME_BYTES]);
    try (Lencap tiers = tiered(local, "s3://" + prefix, new LinkedBlockingQueue<>())) {
      assertEquals(List.of(Durability.REPLICATED), durabilities(tiers));
      Checkpoint restored = tiers.restore(group(volume), cp.id()).get(5, TimeUnit.MINUTES);
      assertEquals(Durability.REPLICATED, restored.durability());
      assertArrayEquals(expected, sha256(volume));
    }
  }

  private static List<Durability> durabilities(Lencap tiers) throws Exception {
    return tiers.checkpoints("g").get(1, TimeUnit.MINUTES).stream().map(Checkpoint::durability).toList();
  }

  private static void deleteTree(Path root) throws Exception {
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
