package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.tck.BlobBackendContract;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store TCK on real Ceph RGW in a bucket with Object Lock, which is versioned: objects the store does
 * not retain (journal records, leases, overwritten objects) must behave as in a plain bucket, and an
 * overwrite or delete must free the old versions instead of leaving them or a delete marker behind.
 */
class LockedBucketBackendIT extends BlobBackendContract {
  private static final String BUCKET = "lencap-lock-tck";
  private static CephCluster ceph;
  private String prefix = "";

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @Override
  protected BlobBackend newBackend() throws Exception {
    prefix = UUID.randomUUID().toString();
    Map<String, String> options = new HashMap<>(ceph.options());
    options.put(S3BackendProvider.LOCK_MODE, "compliance");
    options.put(S3BackendProvider.LOCK_DAYS, "1");
    return new S3BackendProvider().open(URI.create("s3://" + BUCKET + "/" + prefix), options, ceph.secrets());
  }

  @Test
  void overwritesAndDeletesLeaveNoVersionsBehind() throws Exception {
    byte[] one = "one".getBytes(StandardCharsets.UTF_8);
    byte[] two = "two".getBytes(StandardCharsets.UTF_8);
    backend.put("journal/x", one);
    backend.put("journal/x", two);
    assertArrayEquals(two, backend.get("journal/x").orElseThrow());
    assertEquals(1, backend.list("journal/").size());
    assertTrue(backend.objectLock().isPresent());
    assertEquals("COMPLIANCE for 1 day", backend.objectLock().get().describe());
    backend.delete("journal/x");
    assertFalse(backend.exists("journal/x"));
    assertTrue(backend.list("journal/").isEmpty());
  }
}
