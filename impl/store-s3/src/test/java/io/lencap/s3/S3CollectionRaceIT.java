package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.Phase;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.testing.FileVolumeProvider;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real S3 protocol peer (s3proxy), with the capturing process's clock 5 minutes ahead of the
 * storage's: another process collects the store right after the capture wrote its chunks and before it
 * commits. The checkpoint must commit whole (its fresh chunks spared) and restore.
 */
class S3CollectionRaceIT {
  @TempDir
  static Path serverDir;
  private static S3ProxyServer server;

  @TempDir
  Path dir;

  @BeforeAll
  static void startServer() throws Exception {
    server = new S3ProxyServer(serverDir.resolve("objects"));
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  private static Lencap open(URI store, Clock clock) {
    Lencap.Builder b = Lencap.builder().store(store).clock(clock);
    server.options().forEach(b::storeOption);
    S3ProxyServer.secrets().forEach(b::storeSecret);
    return b.build();
  }

  private Encapsulation volume(String name, int bytes, long seed) throws Exception {
    Path file = dir.resolve(name);
    byte[] data = new byte[bytes];
    new Random(seed).nextBytes(data);
    Files.write(file, data);
    return Encapsulation.builder(name)
        .resource(Resource.of("vol", ResourceType.BLOCK_VOLUME, FileVolumeProvider.SCHEME + "://" + file)).build();
  }

  @Test
  void aCollectionBetweenTransferAndCommitSparesTheChunksWithTheClientClockAhead() throws Exception {
    URI store = URI.create("s3://race/store");
    Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(5));
    Encapsulation other = volume("other", 1 << 20, 1);
    Encapsulation group = volume("group", 2 << 20, 2);
    try (Lencap collector = open(store, Clock.systemUTC()); Lencap capturer = open(store, ahead)) {
      Checkpoint old = collector.capture(other).get(2, TimeUnit.MINUTES);
      CountDownLatch collected = new CountDownLatch(1);
      capturer.addListener(e -> {
        if (e instanceof LencapEvent.PhaseChanged p && p.encapsulation().equals("group") && p.phase() == Phase.TRANSFER
            && p.status() == LencapEvent.Status.COMPLETED) {
          // Every chunk of the capture is written, none is named by a manifest yet: collect now, from
          // another process (deleting a checkpoint collects the whole store).
          collector.delete("other", old.id()).join();
          collected.countDown();
        }
      });
      Checkpoint cp = capturer.capture(group).get(2, TimeUnit.MINUTES);
      assertEquals(0, collected.getCount(), "the collection did not run between transfer and commit");
      assertTrue(capturer.verify("group").get(2, TimeUnit.MINUTES).ok(), "the committed checkpoint lost chunks");
      Path file = Path.of(URI.create(group.resource("vol").orElseThrow().locator().toString()).getPath());
      byte[] captured = Files.readAllBytes(file);
      Files.write(file, new byte[captured.length]);
      capturer.restore(group, cp.id()).get(2, TimeUnit.MINUTES);
      assertArrayEquals(captured, Files.readAllBytes(file));
    }
  }
}
