package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.VerifyReport;
import io.lencap.spi.BlobBackend;
import io.lencap.testing.FileVolumeProvider;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine over real Ceph RGW (1 monitor, 3 memstore OSDs, 3 copies): two processes capturing into one
 * store at once, and checkpoints that survive an OSD killed after the commit or in the middle of a
 * transfer. A test that kills an OSD has scripts/setup/ceph.sh bring the cluster back afterwards.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CephStoreIT {
  private static final String BUCKET = "lencap-it";
  private static final int VOLUME_BYTES = 8 << 20;
  private static CephCluster ceph;
  private boolean osdKilled;

  @TempDir
  Path dir;

  @BeforeAll
  static void findCeph() throws Exception {
    ceph = CephCluster.require();
  }

  @AfterEach
  void repairCeph() throws Exception {
    if (osdKilled) {
      ceph = CephCluster.repair();
    }
  }

  private Lencap open(URI store) {
    Lencap.Builder b = Lencap.builder().store(store);
    ceph.options().forEach(b::storeOption);
    ceph.secrets().forEach(b::storeSecret);
    return b.build();
  }

  private static URI newStore(String name) {
    return URI.create("s3://" + BUCKET + "/" + name + "-" + UUID.randomUUID());
  }

  @Test
  @Order(1)
  void twoProcessesCaptureIntoOneStoreAtOnceAndRetentionSparesTheOther() throws Exception {
    URI store = newStore("two-processes");
    Path alphaVolume = dir.resolve("alpha");
    Path betaVolume = dir.resolve("beta");
    List<String[]> alpha = new ArrayList<>();
    List<String[]> beta = new ArrayList<>();
    try (Worker a = new Worker("alpha", store, alphaVolume); Worker b = new Worker("beta", store, betaVolume)) {
      a.expect("ready");
      b.expect("ready");
      // Round 0: both capture at the same moment, racing to create the chunks they share.
      a.send("capture");
      b.send("capture");
      alpha.add(a.expect("committed"));
      beta.add(b.expect("committed"));
      // Round 1: alpha commits, applies retention and collects while beta's new chunks are stored but
      // not yet named by any manifest; round 2 the other way round.
      b.send("capture-paused");
      b.expect("mid");
      a.send("capture");
      alpha.add(a.expect("committed"));
      b.send("continue");
      beta.add(b.expect("committed"));
      a.send("capture-paused");
      a.expect("mid");
      b.send("capture");
      beta.add(b.expect("committed"));
      a.send("continue");
      alpha.add(a.expect("committed"));
      a.send("exit");
      b.send("exit");
      assertEquals(0, a.exit());
      assertEquals(0, b.exit());
    }

    try (Lencap lencap = open(store)) {
      checkLatestRestores(lencap, "alpha", alphaVolume, alpha);
      checkLatestRestores(lencap, "beta", betaVolume, beta);
    }
    // Garbage went, and only garbage: each latest checkpoint's own half (16 chunks each) plus the
    // half both share (16 chunks), nothing of the four checkpoints retention deleted. (With packs, a pack stays
    // whole while a checkpoint names any chunk in it; S3CollectionRaceIT races a collection with packs.)
    try (BlobBackend backend = new S3BackendProvider().open(store, ceph.options(), ceph.secrets())) {
      assertEquals(48, backend.list("chunks/").size());
      assertEquals(2, backend.list("checkpoints/").size());
      assertTrue(backend.list("journal/").isEmpty());
    }
  }

  private static void checkLatestRestores(Lencap lencap, String name, Path volume, List<String[]> commits)
      throws Exception {
    String[] last = commits.get(commits.size() - 1);
    List<Checkpoint> kept = lencap.checkpoints(name).get(1, TimeUnit.MINUTES);
    assertEquals(List.of(last[0]), kept.stream().map(Checkpoint::id).toList(), name + " keeps its latest only");
    VerifyReport report = lencap.verify(name).get(5, TimeUnit.MINUTES);
    assertTrue(report.ok(), name + ": " + report.problems());
    Files.write(volume, new byte[VOLUME_BYTES]);
    lencap.restore(volumeGroup(name, volume), last[0]).get(5, TimeUnit.MINUTES);
    assertEquals(last[1], HexFormat.of().formatHex(sha256(volume)), name + " restored");
  }

  private static Encapsulation volumeGroup(String name, Path volume) {
    return Encapsulation.builder(name)
        .resource(Resource.of("volume", ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + volume)).build();
  }

  @Test
  @Order(2)
  void checkpointSurvivesAnOsdKilledAfterTheCommit() throws Exception {
    Group group = new Group(dir, "after");
    try (Lencap lencap = open(newStore("osd-after"))) {
      Checkpoint cp = lencap.capture(group.encapsulation).get(5, TimeUnit.MINUTES);
      osdKilled = true;
      ceph.killOsd(2);
      group.checkRestoresAndVerifies(lencap, cp);
    }
  }

  @Test
  @Order(3)
  void checkpointSurvivesAnOsdKilledInTheMiddleOfTheTransfer() throws Exception {
    Group group = new Group(dir, "during");
    CompletableFuture<Void> killed = new CompletableFuture<>();
    FileVolumeProvider.MID_TRANSFER.put(group.volumes.get(1).toString(), () -> {
      osdKilled = true;
      try {
        ceph.killOsd(0);
        killed.complete(null);
      } catch (Exception e) {
        killed.completeExceptionally(e);
      }
    });
    try (Lencap lencap = open(newStore("osd-during"))) {
      Checkpoint cp = lencap.capture(group.encapsulation).get(5, TimeUnit.MINUTES);
      killed.get(0, TimeUnit.SECONDS);
      group.checkRestoresAndVerifies(lencap, cp);
    } finally {
      FileVolumeProvider.MID_TRANSFER.clear();
    }
  }

  /** Three volumes of random bytes, with their digests. */
  private static final class Group {
    final List<Path> volumes = new ArrayList<>();
    final List<byte[]> digests = new ArrayList<>();
    final Encapsulation encapsulation;

    Group(Path dir, String name) throws Exception {
      Encapsulation.Builder b = Encapsulation.builder("ceph-" + name);
      for (int i = 0; i < 3; i++) {
        Path v = dir.resolve(name + i);
        byte[] content = new byte[VOLUME_BYTES];
        new Random(name.hashCode() + i).nextBytes(content);
        Files.write(v, content);
        volumes.add(v);
        digests.add(sha256(v));
        b.resource(Resource.of("vol" + i, ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + v));
      }
      encapsulation = b.build();
    }

    void checkRestoresAndVerifies(Lencap lencap, Checkpoint cp) throws Exception {
      for (Path v : volumes) {
        Files.write(v, new byte[VOLUME_BYTES]);
      }
      lencap.restore(encapsulation, cp.id()).get(5, TimeUnit.MINUTES);
      for (int i = 0; i < volumes.size(); i++) {
        assertArrayEquals(digests.get(i), sha256(volumes.get(i)), "vol" + i + " restored");
      }
      VerifyReport report = lencap.verify(encapsulation.name()).get(5, TimeUnit.MINUTES);
      assertTrue(report.ok(), report.problems().toString());
      assertEquals(3L * VOLUME_BYTES / (256 << 10), report.chunksChecked());
    }
  }

  private static byte[] sha256(Path p) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
  }

  /** A {@link CaptureWorker} in its own JVM: commands on its stdin, answers on its stdout, log in a file. */
  private static final class Worker implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Writer commands;
    private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();

    Worker(String name, URI store, Path volume) throws Exception {
      this.name = name;
      String java = ProcessHandle.current().info().command().orElse("java");
      ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
          CaptureWorker.class.getName(), store.toString(), name, volume.toString(), "1",
          "packs=false"); // a chunk per object: what the collection took is counted below, chunk by chunk
      pb.environment().putAll(ceph.childEnvironment());
      pb.redirectError(Path.of("target", "worker-" + name + ".log").toFile());
      process = pb.start();
      commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      Thread reader = new Thread(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("@")) {
              answers.add(line.substring(1));
            }
          }
        } catch (Exception e) {
          // the process ended
        }
        answers.add("ended");
      }, "worker-" + name);
      reader.setDaemon(true);
      reader.start();
    }

    void send(String command) throws Exception {
      commands.write(command + "\n");
      commands.flush();
    }

    /** The next answer, which must start with {@code word}; its remaining fields. */
    String[] expect(String word) throws Exception {
      String line = answers.poll(5, TimeUnit.MINUTES);
      if (line == null || !line.startsWith(word)) {
        fail("worker " + name + " answered '" + line + "' instead of " + word + " (see target/worker-" + name + ".log)");
      }
      String rest = line.substring(word.length()).trim();
      return rest.isEmpty() ? new String[0] : rest.split(" ");
    }

    int exit() throws Exception {
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        fail("worker " + name + " did not exit");
      }
      return process.exitValue();
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        process.destroyForcibly();
      }
    }
  }
}
