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
 * A bandwidth limit of 1 MB/s holds within 10% over a 30 s transfer into the real Ceph RGW: the bytes that
 * reach the S3 backend under the store's limits ({@link CountingS3BackendProvider}, which the limits wrap),
 * over the time from the first call's start to the last one's end on the monotonic clock, are between 0.9
 * and 1.1 of the limit. RGW takes several MB/s here, so the limiter, not the storage, sets the rate.
 */
class LimitedS3IT {
  private static final long LIMIT = 1_000_000;
  private static final int SECONDS = 30;
  private static CephCluster ceph;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @Test
  void aBandwidthLimitHoldsWithinTenPercentOverThirtySeconds() throws Exception {
    Path volume = dir.resolve("vol");
    byte[] content = new byte[(int) (LIMIT * SECONDS)];
    new Random(7).nextBytes(content); // random: compression keeps every byte
    Files.write(volume, content);
    Encapsulation group = Encapsulation.builder("limited").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).build()).build();
    Lencap.Builder b = Lencap.builder()
        .store(URI.create(CountingS3BackendProvider.SCHEME + "://lencap-it/limited-" + UUID.randomUUID()))
        .storeOption("limit.bytesPerSecond", Long.toString(LIMIT)).storeOption("limit.requests", "4");
    ceph.options().forEach(b::storeOption);
    ceph.secrets().forEach(b::storeSecret);
    try (Lencap lencap = b.build()) {
      CountingS3BackendProvider.reset();
      long start = System.nanoTime();
      Checkpoint cp = lencap.capture(group).get(5, TimeUnit.MINUTES);
      double captureSeconds = (System.nanoTime() - start) / 1e9;
      long bytes = CountingS3BackendProvider.bytes.get();
      double seconds = (CountingS3BackendProvider.lastEnd.get() - CountingS3BackendProvider.firstStart.get()) / 1e9;
      double rate = bytes / seconds;
      System.out.printf("limit %d B/s into RGW: %d bytes through the backend in %.1f s, %.0f B/s (%.3f of the"
          + " limit); the capture: %d stored bytes in %.1f s (%.3f)%n", LIMIT, bytes, seconds, rate, rate / LIMIT,
          cp.storedBytes(), captureSeconds, cp.storedBytes() / captureSeconds / LIMIT);
      assertTrue(cp.storedBytes() >= content.length, "random data stored whole: " + cp.storedBytes());
      assertTrue(seconds >= SECONDS * 0.9, "the transfer lasted " + seconds + " s, not about " + SECONDS);
      assertTrue(rate >= LIMIT * 0.90 && rate <= LIMIT * 1.10, rate + " B/s under a limit of " + LIMIT
          + " B/s: outside the 10% band");
    }
  }
}
