package io.lencap.iscsi;

import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.tck.SnapshotChangesContract;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The StorageSnapshot TCK, with its changes between images, on {@link RbdSnapshots}: a tgt gateway over Ceph RBD,
 * read and written through our initiator.
 */
class RbdSnapshotsContractIT extends SnapshotChangesContract {
  @TempDir
  static Path dir;
  static TgtRbdGateway gateway;
  static Resource lun;
  static long seed;
  static final long SIZE = 8 << 20;

  @BeforeAll
  static void start() throws Exception {
    gateway = new TgtRbdGateway(dir);
    lun = gateway.randomLun("tck-" + ProcessHandle.current().pid(), SIZE, 3);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Override
  protected StorageSnapshot snapshots() {
    return new RbdSnapshots();
  }

  @Override
  protected Resource resource() {
    return lun;
  }

  @Override
  protected byte[] read(URI locator) throws Exception {
    return digest(locator);
  }

  /** A digest of the LUN or image at {@code locator}, read through our initiator. */
  static byte[] digest(URI locator) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (IscsiSession s = LunSpec.of(Resource.builder("image").type("block").locator(locator).build()).connect()) {
      s.stream(0, s.sizeBytes(), 1 << 20, (offset, data) -> sha.update(data));
    }
    return sha.digest();
  }

  @Override
  protected void write(long offset, byte[] data) throws Exception {
    try (IscsiSession s = LunSpec.of(lun).connect()) {
      s.write(offset / s.blockSize(), ByteBuffer.wrap(data));
    }
  }

  @Override
  protected long size() {
    return SIZE;
  }

  @Override
  protected void change() throws Exception {
    change(lun, ++seed);
  }

  /** Writes 64 KiB of seeded random bytes at the start of the LUN. */
  static void change(Resource lun, long seed) throws Exception {
    byte[] data = new byte[64 << 10];
    new Random(seed).nextBytes(data);
    try (IscsiSession s = LunSpec.of(lun).connect()) {
      s.write(0, ByteBuffer.wrap(data));
    }
  }
}
