package io.lencap.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.tck.BlobBackendContract;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The store TCK and HDFS specifics, on a real in-process HDFS (3 DataNodes, replication 3). */
class HdfsBackendTest extends BlobBackendContract {
  private static MiniHdfs hdfs;
  private final HdfsBackendProvider provider = new HdfsBackendProvider();
  private URI location;

  @BeforeAll
  static void startHdfs() throws Exception {
    hdfs = new MiniHdfs("backend-test");
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  @Override
  protected BlobBackend newBackend() throws Exception {
    location = hdfs.uri("tck/" + UUID.randomUUID());
    return provider.open(location, Map.of("replication", "3"), Map.of());
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void isFoundByServiceLoaderForHdfsUris() {
    List<String> names = ServiceLoader.load(io.lencap.spi.BlobBackendProvider.class).stream()
        .map(p -> p.get()).filter(p -> p.supports(URI.create("hdfs://nn:8020/lencap")))
        .map(io.lencap.spi.BlobBackendProvider::name).toList();
    assertEquals(List.of("hdfs"), names);
    assertFalse(provider.supports(URI.create("s3://bucket/x")));
  }

  @Test
  void objectsGetTheConfiguredReplicationOnThreeDataNodes() throws Exception {
    backend.put("chunks/ab/abc", random(10_000, 1));
    FileSystem fs = hdfs.cluster.getFileSystem();
    FileStatus st = fs.getFileStatus(new Path(location.getPath(), "chunks/ab/abc"));
    assertEquals(3, st.getReplication());
    // getReplication() reports what was asked for; the block's locations say where copies really are
    // (each DataNode reports its copy on its own, so the last report may trail the close a little).
    long deadline = System.nanoTime() + 30_000_000_000L;
    BlockLocation[] blocks = fs.getFileBlockLocations(st, 0, st.getLen());
    while (blocks[0].getNames().length < 3 && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling, bounded by the deadline
      blocks = fs.getFileBlockLocations(st, 0, st.getLen());
    }
    assertEquals(1, blocks.length);
    assertEquals(3, blocks[0].getNames().length);
  }

  @Test
  void replicationOptionIsApplied() throws Exception {
    try (BlobBackend one = provider.open(hdfs.uri("rep1/" + UUID.randomUUID()), Map.of("replication", "1"), Map.of())) {
      one.put("journal/x", random(100, 1));
      assertEquals(1, ((HdfsBackend) one).replication());
      String root = ((HdfsBackend) one).describe();
      FileStatus st = hdfs.cluster.getFileSystem().getFileStatus(new Path(root + "/journal/x"));
      assertEquals(1, st.getReplication());
    }
  }

  @Test
  void twoClientsRacingForOneKeyHaveOneWinner() throws Exception {
    // Two FileSystem clients, as two processes would have: the NameNode's rename decides.
    try (BlobBackend other = provider.open(location, Map.of(), Map.of())) {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Callable<Boolean>> racers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          BlobBackend b = i % 2 == 0 ? backend : other;
          int seed = i;
          racers.add(() -> b.putIfAbsent("checkpoints/g/race", random(70_000, seed)));
        }
        int winners = 0;
        for (Future<Boolean> f : pool.invokeAll(racers)) {
          winners += f.get() ? 1 : 0;
        }
        assertEquals(1, winners);
      } finally {
        pool.shutdownNow();
      }
      assertArrayEquals(backend.get("checkpoints/g/race").orElseThrow(), other.get("checkpoints/g/race").orElseThrow());
    }
  }

  @Test
  void concurrentWritesIntoNewDirectoriesAllLand() throws Exception {
    // Many writers meeting the same new parent directories at once, as chunk writes do.
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Boolean>> writers = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        String key = "chunks/d" + (i % 4) + "/c" + i;
        int seed = i;
        writers.add(() -> backend.putIfAbsent(key, random(1000, seed)));
      }
      for (Future<Boolean> f : pool.invokeAll(writers)) {
        assertTrue(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(64, backend.list("chunks/").size());
  }

  @Test
  void temporaryFilesNeverShowAndStaleOnesAreRemovedAtOpen() throws Exception {
    backend.put("journal/a", random(10, 1));
    FileSystem fs = hdfs.cluster.getFileSystem();
    Path stale = new Path(location.getPath() + "/.tmp/dead-writer.tmp");
    fs.create(stale).close();
    fs.setTimes(stale, System.currentTimeMillis() - 2 * 3_600_000L, -1);
    Path fresh = new Path(location.getPath() + "/.tmp/live-writer.tmp");
    fs.create(fresh).close();
    assertEquals(List.of("journal/a"), backend.list("").stream().map(BlobInfo::key).toList());
    try (BlobBackend reopened = provider.open(location, Map.of(), Map.of())) {
      assertFalse(fs.exists(stale));
      assertTrue(fs.exists(fresh));
      assertEquals(List.of("journal/a"), reopened.list("").stream().map(BlobInfo::key).toList());
    }
  }

  @Test
  void badStoreUrisAndOptionsNameTheField() {
    InvalidSpecException noPath = assertThrows(InvalidSpecException.class,
        () -> provider.open(URI.create("hdfs://localhost:9/"), Map.of(), Map.of()));
    assertEquals("store", noPath.field());
    InvalidSpecException noHost = assertThrows(InvalidSpecException.class,
        () -> provider.open(URI.create("hdfs:///lencap"), Map.of(), Map.of()));
    assertEquals("store", noHost.field());
    InvalidSpecException rep = assertThrows(InvalidSpecException.class,
        () -> provider.open(location, Map.of("replication", "three"), Map.of()));
    assertEquals("storeOptions.replication", rep.field());
    assertThrows(InvalidSpecException.class, () -> provider.open(location, Map.of("replication", "0"), Map.of()));
  }

  @Test
  void keysThatEscapeTheRootAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> backend.put("../x", new byte[1]));
    assertThrows(IllegalArgumentException.class, () -> backend.get("/etc/passwd"));
    assertThrows(IllegalArgumentException.class, () -> backend.exists("chunks//x"));
  }
}
