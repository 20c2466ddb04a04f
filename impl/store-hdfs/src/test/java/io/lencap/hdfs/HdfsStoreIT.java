package io.lencap.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import io.lencap.testing.FileVolumeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.hdfs.MiniDFSCluster.DataNodeProperties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Captures and restores a group of three volumes through the engine into a real HDFS (3 DataNodes,
 * replication 3) while DataNodes die: one in the middle of a transfer, a second after the commit.
 */
class HdfsStoreIT {
  private static final int VOLUME_BYTES = 12 << 20;
  private static MiniHdfs hdfs;

  @TempDir
  Path dir;

  @BeforeAll
  static void startHdfs() throws Exception {
    hdfs = new MiniHdfs("store-it");
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  @Test
  void checkpointSurvivesDataNodesDyingDuringAndAfterTheTransfer() throws Exception {
    List<Path> volumes = new ArrayList<>();
    List<byte[]> digests = new ArrayList<>();
    Encapsulation.Builder group = Encapsulation.builder("hdfs-group");
    for (int i = 0; i < 3; i++) {
      Path v = dir.resolve("vol" + i);
      byte[] content = new byte[VOLUME_BYTES];
      new Random(i).nextBytes(content);
      Files.write(v, content);
      volumes.add(v);
      digests.add(sha256(v));
      group.resource(Resource.of("vol" + i, ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + v));
    }
    Encapsulation encapsulation = group.build();
    CompletableFuture<DataNodeProperties> killedDuring = new CompletableFuture<>();
    FileVolumeProvider.MID_TRANSFER.put(volumes.get(1).toString(),
        () -> killedDuring.complete(hdfs.cluster.stopDataNode(0)));

    try (Lencap lencap = Lencap.builder().store(hdfs.uri("lencap")).storeOption("replication", "3").build()) {
      Checkpoint cp = lencap.capture(encapsulation).get(5, TimeUnit.MINUTES);
      assertTrue(killedDuring.isDone(), "a DataNode was stopped mid-transfer");
      assertEquals(3L * VOLUME_BYTES, cp.logicalBytes());

      DataNodeProperties killedAfter = hdfs.cluster.stopDataNode(0);
      assertTrue(killedAfter != null);
      assertEquals(1, hdfs.cluster.getDataNodes().size(), "one DataNode left");

      for (Path v : volumes) {
        Files.write(v, new byte[VOLUME_BYTES]);
      }
      lencap.restore(encapsulation, cp.id()).get(5, TimeUnit.MINUTES);
      for (int i = 0; i < 3; i++) {
        assertArrayEquals(digests.get(i), sha256(volumes.get(i)), "vol" + i + " restored");
      }
      VerifyReport report = lencap.verify(encapsulation.name()).get(5, TimeUnit.MINUTES);
      assertTrue(report.ok(), report.problems().toString());
      assertEquals(3L * VOLUME_BYTES / (256 << 10), report.chunksChecked());

      // The one DataNode left still takes new checkpoints (incremental) that restore and verify.
      byte[] changed = Files.readAllBytes(volumes.get(0));
      new Random(99).nextBytes(changed);
      Files.write(volumes.get(0), changed);
      Checkpoint second = lencap.capture(encapsulation).get(5, TimeUnit.MINUTES);
      assertEquals(cp.id(), second.parent().orElseThrow());
      Files.write(volumes.get(0), new byte[VOLUME_BYTES]);
      lencap.restore(encapsulation, second.id()).get(5, TimeUnit.MINUTES);
      assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(changed), sha256(volumes.get(0)));
      assertTrue(lencap.verify(encapsulation.name()).get(5, TimeUnit.MINUTES).ok());
    } finally {
      FileVolumeProvider.MID_TRANSFER.clear();
    }
  }

  private static byte[] sha256(Path p) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
  }
}
