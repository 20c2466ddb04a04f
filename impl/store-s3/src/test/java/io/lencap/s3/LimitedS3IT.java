package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.testing.FileVolumeProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture into the real Ceph RGW under a bandwidth limit: the stored bytes per second stay under the
 * limit plus 10% (asserted from below on the time taken, so a slow machine cannot fail it).
 */
class LimitedS3IT {
  private static final long LIMIT = 4_000_000;
  private static CephCluster ceph;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @Test
  void aCaptureIntoRgwHoldsTheBandwidthLimit() throws Exception {
    Path volume = dir.resolve("vol");
    byte[] content = new byte[24 << 20];
    new Random(7).nextBytes(content);
    Files.write(volume, content);
    Encapsulation group = Encapsulation.builder("limited").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).build()).build();
    Lencap.Builder b = Lencap.builder().store(URI.create("s3://lencap-it/limited-" + UUID.randomUUID()))
        .storeOption("limit.bytesPerSecond", Long.toString(LIMIT)).storeOption("limit.requests", "4");
    ceph.options().forEach(b::storeOption);
    ceph.secrets().forEach(b::storeSecret);
    try (Lencap lencap = b.build()) {
      long start = System.nanoTime();
      Checkpoint cp = lencap.capture(group).get(5, TimeUnit.MINUTES);
      double seconds = (System.nanoTime() - start) / 1e9;
      double rate = cp.storedBytes() / seconds;
      System.out.printf("capture into RGW limited to %d B/s: %d bytes in %.1f s, %.0f B/s (%.3f of the limit)%n",
          LIMIT, cp.storedBytes(), seconds, rate, rate / LIMIT);
      assertTrue(cp.storedBytes() >= content.length, "random data stored whole: " + cp.storedBytes());
      assertTrue(rate <= LIMIT * 1.10, rate + " B/s under a limit of " + LIMIT);
    }
  }
}
