package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.BlobBackendContract;
import java.net.URI;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The store TCK against real Ceph RGW (3 OSDs, 3 copies): conditional create, multipart, listing. */
class CephBackendIT extends BlobBackendContract {
  private static CephCluster ceph;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @Override
  protected BlobBackend newBackend() throws Exception {
    return new S3BackendProvider().open(URI.create("s3://lencap-tck/" + UUID.randomUUID()), ceph.options(),
        ceph.secrets());
  }

  @Test
  void largeObjectsAreCreatedOnceAndReplacedInParts() throws Exception {
    byte[] big = new byte[(int) S3Backend.MULTIPART_THRESHOLD + 3_000_000];
    new Random(5).nextBytes(big);
    assertTrue(backend.putIfAbsent("checkpoints/g/big", big));
    assertArrayEquals(big, backend.get("checkpoints/g/big").orElseThrow());
    byte[] other = big.clone();
    other[0]++;
    assertFalse(backend.putIfAbsent("checkpoints/g/big", other), "a second multipart create is refused");
    assertFalse(backend.putIfAbsent("checkpoints/g/big", new byte[100]));
    assertArrayEquals(big, backend.get("checkpoints/g/big").orElseThrow());
    backend.put("checkpoints/g/big", other);
    assertArrayEquals(other, backend.get("checkpoints/g/big").orElseThrow());
  }
}
