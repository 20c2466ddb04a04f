package io.lencap.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.SyncReport;
import io.lencap.testing.FileVolumeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sync from a local store to a real HDFS: incremental by chunk (counted), and the copies restore. */
class SyncHdfsIT {
  private static final int CHUNK = 64 << 10;
  private static final int VOLUME_BYTES = 256 * CHUNK;
  private static MiniHdfs hdfs;

  @TempDir
  Path dir;

  @BeforeAll
  static void startHdfs() throws Exception {
    hdfs = new MiniHdfs("sync-it");
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  @Test
  void aLocalStoreSyncsIncrementallyToHdfsAndRestoresFromIt() throws Exception {
    Path volume = dir.resolve("vol");
    byte[] content = new byte[VOLUME_BYTES];
    new Random(1).nextBytes(content);
    Files.write(volume, content);
    Encapsulation group = Encapsulation.builder("g").resource(Resource.builder("vol").type("block")
        .locator(FileVolumeProvider.SCHEME + "://" + volume).property("chunkBytes", Integer.toString(CHUNK))
        .build()).build();
    try (Lencap source = Lencap.builder().store(dir.resolve("store")).build();
        Lencap target = Lencap.builder().store(hdfs.uri("lencap-sync")).build()) {
      source.capture(group).get(5, TimeUnit.MINUTES);
      SyncReport first = source.sync("g", target).get(5, TimeUnit.MINUTES);
      assertEquals(256, first.chunksSent());

      for (int i = 0; i < 3; i++) { // 3 of 256 chunks, one 4 KiB block each: stored as 3 block deltas
        content[(i * 85 + 40) * CHUNK + 7] ^= 1;
      }
      Files.write(volume, content);
      Checkpoint second = source.capture(group).get(5, TimeUnit.MINUTES);
      SyncReport next = source.sync("g", target).get(5, TimeUnit.MINUTES);
      assertEquals(List.of(second.id()), next.copied());
      assertEquals(3, next.chunksSent());
      assertTrue(next.bytesSent() > 3 * 4096 && next.bytesSent() < 3 * (4096 + 512), "sent " + next.bytesSent()
          + " bytes for three changed 4 KiB blocks");

      assertTrue(target.verify("g").get(5, TimeUnit.MINUTES).ok());
      Files.write(volume, new byte[VOLUME_BYTES]);
      target.restore(group, second.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(content),
          MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(volume)));
    }
  }
}
