package io.lencap.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Secret;
import io.lencap.api.UnavailableException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.tck.BlobBackendContract;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;

/** The store TCK and S3 specifics against s3proxy in this JVM (a real S3 protocol server). */
class S3BackendTest extends BlobBackendContract {
  @TempDir
  static Path dir;
  private static S3ProxyServer server;
  private final S3BackendProvider provider = new S3BackendProvider();
  private URI location;

  @BeforeAll
  static void startServer() throws Exception {
    server = new S3ProxyServer(dir.resolve("s3"));
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected BlobBackend newBackend() throws Exception {
    location = URI.create("s3://tck/" + UUID.randomUUID());
    return provider.open(location, server.options(), S3ProxyServer.secrets());
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void isFoundByServiceLoaderForS3Uris() {
    List<String> names = ServiceLoader.load(BlobBackendProvider.class).stream().map(ServiceLoader.Provider::get)
        .filter(p -> p.supports(URI.create("s3://bucket/lencap"))).map(BlobBackendProvider::name).toList();
    assertEquals(List.of("s3"), names);
    assertFalse(provider.supports(URI.create("hdfs://nn:8020/x")));
  }

  @Test
  void largeObjectsAreCreatedOnceAndReplacedInParts() throws Exception {
    byte[] big = random((int) S3Backend.MULTIPART_THRESHOLD + 3_000_000, 5);
    assertTrue(backend.putIfAbsent("checkpoints/g/big", big));
    assertArrayEquals(big, backend.get("checkpoints/g/big").orElseThrow());
    byte[] other = big.clone();
    other[0]++;
    assertFalse(backend.putIfAbsent("checkpoints/g/big", other), "a second multipart create is refused");
    assertFalse(backend.putIfAbsent("checkpoints/g/big", random(100, 6)));
    assertArrayEquals(big, backend.get("checkpoints/g/big").orElseThrow());
    backend.put("checkpoints/g/big", random(100, 7));
    assertArrayEquals(random(100, 7), backend.get("checkpoints/g/big").orElseThrow());
  }

  @Test
  void twoClientsRacingForOneKeyHaveOneWinner() throws Exception {
    try (BlobBackend other = provider.open(location, server.options(), S3ProxyServer.secrets())) {
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
    }
  }

  @Test
  void prefixesAreIsolatedAndTheProbeNeverShows() throws Exception {
    backend.put("journal/a", random(10, 1));
    try (BlobBackend sibling = provider.open(URI.create(location + "-sibling"), server.options(), S3ProxyServer.secrets())) {
      sibling.put("journal/b", random(10, 2));
      assertEquals(List.of("journal/a"), backend.list("").stream().map(BlobInfo::key).toList());
      assertEquals(List.of("journal/b"), sibling.list("journal/").stream().map(BlobInfo::key).toList());
    }
  }

  @Test
  void secondPrecisionTimesAreRoundedUpNeverDown() {
    Instant whole = Instant.parse("2026-11-22T10:00:01Z");
    assertEquals(Instant.parse("2026-11-22T10:00:01.999Z"), S3Backend.latestPossible(whole));
    Instant precise = Instant.parse("2026-11-22T10:00:01.250Z");
    assertEquals(precise, S3Backend.latestPossible(precise));
  }

  @Test
  void wrongCredentialsFailAtOpenWithoutShowingThem() {
    Map<String, Secret> wrong = Map.of("s3.accessKey", Secret.of(S3ProxyServer.ACCESS_KEY),
        "s3.secretKey", Secret.of("not-the-secret-1234"));
    IOException e = assertThrows(IOException.class, () -> provider.open(location, server.options(), wrong));
    assertTrue(e.getMessage().contains("403"), e.getMessage());
    assertFalse(e.getMessage().contains("not-the-secret-1234"));
    assertFalse(e.toString().contains(S3ProxyServer.SECRET_KEY));
  }

  @Test
  void lockOptionsAreCheckedAndNameTheField() {
    assertEquals(Optional.empty(), S3BackendProvider.lock(Map.of()));
    assertEquals(Optional.of(new S3ObjectLock.Spec(ObjectLockRetentionMode.COMPLIANCE, 30)),
        S3BackendProvider.lock(Map.of("s3.lock.mode", "Compliance", "s3.lock.days", "30")));
    assertEquals("storeOptions.s3.lock.mode", assertThrows(InvalidSpecException.class,
        () -> S3BackendProvider.lock(Map.of("s3.lock.mode", "legal-hold", "s3.lock.days", "1"))).field());
    for (String days : new String[] {"0", "-1", "1.5", "36501", ""}) {
      assertEquals("storeOptions.s3.lock.days", assertThrows(InvalidSpecException.class,
          () -> S3BackendProvider.lock(Map.of("s3.lock.mode", "governance", "s3.lock.days", days))).field(), days);
    }
    assertEquals("storeOptions.s3.lock.days", assertThrows(InvalidSpecException.class,
        () -> S3BackendProvider.lock(Map.of("s3.lock.mode", "governance"))).field());
    assertEquals("storeOptions.s3.lock.days", assertThrows(InvalidSpecException.class,
        () -> S3BackendProvider.lock(Map.of("s3.lock.days", "3"))).field());
  }

  @Test
  void lockDatesAreRoundedUpToTheNextMidnightSoThatOneDaysCommitsExtendOnce() {
    S3ObjectLock lock = new S3ObjectLock(null, new S3ObjectLock.Spec(ObjectLockRetentionMode.GOVERNANCE, 2),
        java.time.Clock.fixed(java.time.Instant.parse("2026-12-02T09:55:01Z"), java.time.ZoneOffset.UTC));
    assertEquals(java.time.Instant.parse("2026-12-05T00:00:00Z"), lock.until());
  }

  @Test
  void badStoreUrisOptionsAndSecretsNameTheField() {
    assertEquals("store", assertThrows(InvalidSpecException.class,
        () -> provider.open(URI.create("s3:///prefix"), server.options(), S3ProxyServer.secrets())).field());
    assertEquals("storeOptions.s3.endpoint", assertThrows(InvalidSpecException.class,
        () -> provider.open(location, Map.of("s3.endpoint", "ftp://x"), S3ProxyServer.secrets())).field());
    assertEquals("storeOptions.s3.pathStyle", assertThrows(InvalidSpecException.class,
        () -> provider.open(location, Map.of("s3.endpoint", server.endpoint(), "s3.pathStyle", "yes"),
            S3ProxyServer.secrets())).field());
    InvalidSpecException half = assertThrows(InvalidSpecException.class, () -> provider.open(location,
        server.options(), Map.of("s3.accessKey", Secret.of("only-the-access-key"))));
    assertEquals("storeSecrets.s3.secretKey", half.field());
  }

  @Test
  void aServerWithoutConditionalCreateIsRefusedUnlessOneWriterIsPromised() throws Exception {
    try (S3ProxyServer open = new S3ProxyServer(dir.resolve("s3-no-auth"), false);
        FaultyS3Proxy swiftLike = new FaultyS3Proxy(open.endpoint()).dropConditions()) {
      Map<String, String> options = Map.of("s3.endpoint", swiftLike.endpoint());
      UnavailableException refused = assertThrows(UnavailableException.class,
          () -> provider.open(location, options, S3ProxyServer.secrets()));
      assertTrue(refused.getMessage().contains("does not honour conditional create"), refused.getMessage());
      assertTrue(refused.getMessage().contains("s3.singleWriter=true"), refused.getMessage());

      Map<String, String> single = Map.of("s3.endpoint", swiftLike.endpoint(), "s3.singleWriter", "true");
      try (BlobBackend one = provider.open(location, single, S3ProxyServer.secrets())) {
        assertTrue(one.putIfAbsent("checkpoints/g/1", random(100, 1)));
        assertFalse(one.putIfAbsent("checkpoints/g/1", random(100, 2)));
        assertArrayEquals(random(100, 1), one.get("checkpoints/g/1").orElseThrow());
      }
    }
  }

  @Test
  void aCreateWhoseAnswerWasLostIsStillOurs() throws Exception {
    try (S3ProxyServer open = new S3ProxyServer(dir.resolve("s3-no-auth-2"), false);
        FaultyS3Proxy lossy = new FaultyS3Proxy(open.endpoint());
        BlobBackend b = provider.open(location, Map.of("s3.endpoint", lossy.endpoint()), S3ProxyServer.secrets())) {
      // The server stores the manifest, its answer is lost, the SDK retries and meets 412: still a success.
      lossy.loseNextConditionalPutResponse();
      assertTrue(b.putIfAbsent("checkpoints/g/1", random(1000, 1)));
      // Another writer's object under the key is not ours, retry or not.
      lossy.loseNextConditionalPutResponse();
      assertFalse(b.putIfAbsent("checkpoints/g/1", random(1000, 2)));
      assertArrayEquals(random(1000, 1), b.get("checkpoints/g/1").orElseThrow());
    }
  }

  @Test
  void keysThatEscapeThePrefixAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> backend.put("../x", new byte[1]));
    assertThrows(IllegalArgumentException.class, () -> backend.get("/etc/passwd"));
    assertThrows(IllegalArgumentException.class, () -> backend.exists("chunks//x"));
  }
}
