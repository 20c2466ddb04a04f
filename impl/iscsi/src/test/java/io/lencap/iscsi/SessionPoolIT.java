package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.spi.Health;
import io.lencap.spi.Watcher;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sessions kept between captures, against a real istgt: reused only when sound, for the same credentials. */
class SessionPoolIT {
  static final long SIZE = 8L << 20;
  static final String USER = "lencap";
  static final String SECRET = "pool-secret-0815";

  @TempDir
  static Path dir;
  static IstgtTarget istgt;

  @BeforeAll
  static void start() throws Exception {
    istgt = new IstgtTarget(dir, IstgtTarget.Spec.of("plain", SIZE), IstgtTarget.Spec.of("secure", SIZE)
        .withChap(USER, SECRET));
  }

  @AfterAll
  static void stop() {
    if (istgt != null) {
      istgt.close();
    }
  }

  static LunSpec plain() {
    return LunSpec.of(Resource.builder("lun").type("block").locator(istgt.locator("plain", 0)).build());
  }

  static LunSpec secure(String secret) {
    return LunSpec.of(Resource.builder("lun").type("block").locator(istgt.locator("secure", 0))
        .property(LunSpec.CHAP_USER, USER).secret(LunSpec.CHAP_SECRET, Secret.of(secret)).build());
  }

  static byte[] firstBlocks(IscsiSession s) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(64 * 1024);
    s.read(0, b);
    return b.array();
  }

  @Test
  void aSessionGivenBackServesTheNextCaptureWithoutLoggingInAgain() throws Exception {
    try (SessionPool pool = new SessionPool()) {
      long t0 = System.nanoTime();
      IscsiSession first = pool.take(plain());
      long login = System.nanoTime() - t0;
      byte[] data = new byte[64 * 1024];
      new Random(1).nextBytes(data);
      first.write(0, ByteBuffer.wrap(data));
      pool.give(plain(), first);
      assertEquals(1, pool.idleCount());

      long t1 = System.nanoTime();
      IscsiSession again = pool.take(plain());
      long reuse = System.nanoTime() - t1;
      assertSame(first, again);
      assertEquals(0, pool.idleCount());
      assertEquals(SIZE, again.sizeBytes());
      assertArrayEquals(data, firstBlocks(again));
      System.out.printf("istgt: a login took %d ms, a session taken again %d ms%n", login / 1_000_000,
          reuse / 1_000_000);
      pool.give(plain(), again);
    }
  }

  @Test
  void aSessionWhoseCallFailedIsClosedInsteadOfKept() throws Exception {
    try (SessionPool pool = new SessionPool()) {
      IscsiSession s = pool.take(plain());
      assertThrows(RuntimeException.class, () -> s.read(SIZE / s.blockSize(), ByteBuffer.allocate(s.blockSize())));
      assertFalse(s.reusable());
      pool.give(plain(), s);
      assertEquals(0, pool.idleCount());
      IscsiSession next = pool.take(plain());
      assertNotSame(s, next);
      assertEquals(SIZE, next.sizeBytes());
      pool.give(plain(), next);
    }
  }

  @Test
  void aSessionTheTargetDroppedWhileIdleIsReplacedByANewLogin() throws Exception {
    try (SessionPool pool = new SessionPool()) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      istgt.kill();
      istgt.start();
      IscsiSession next = pool.take(plain());
      assertNotSame(s, next);
      assertFalse(s.reusable());
      assertEquals(SIZE, next.sizeBytes());
      firstBlocks(next);
      pool.give(plain(), next);
    }
  }

  @Test
  void aSessionIdleLongerThanTheLimitIsLoggedOutAndReplaced() throws Exception {
    AtomicLong now = new AtomicLong();
    try (SessionPool pool = new SessionPool(now::get, SessionPool.MAX_IDLE)) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      now.addAndGet(SessionPool.MAX_IDLE.toNanos() + 1);
      IscsiSession next = pool.take(plain());
      assertNotSame(s, next);
      assertFalse(s.reusable(), "the expired session was closed");
      pool.give(plain(), next);
    }
  }

  @Test
  void aSessionNobodyTakesIsLoggedOutOnceItsIdleLimitHasPassed() throws Exception {
    try (SessionPool pool = new SessionPool(System::nanoTime, Duration.ofMillis(200))) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (s.reusable() && System.nanoTime() < deadline) {
        Thread.onSpinWait(); // waiting for the pool's own thread, whose only trace is the closed session
      }
      assertFalse(s.reusable(), "still open 20 s after its 200 ms idle limit");
      assertEquals(0, pool.idleCount());
    }
  }

  @Test
  void theWatcherProbesOnAKeptSessionAndStillSeesTheTargetDieAndComeBack() throws Exception {
    Resource lun = Resource.builder("lun").type("block").locator(istgt.locator("plain", 0)).build();
    try (IscsiProvider provider = new IscsiProvider(); Watcher w = provider.watch(lun, IscsiLunIT.context())) {
      assertEquals(Health.Status.HEALTHY, w.probe().status());
      long t0 = System.nanoTime();
      assertEquals(Health.Status.HEALTHY, w.probe().status());
      System.out.printf("istgt: a probe on the kept session took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
      istgt.kill();
      try {
        Health dead = w.probe();
        assertEquals(Health.Status.FAILED, dead.status(), dead.detail());
      } finally {
        istgt.start();
      }
      assertEquals(Health.Status.HEALTHY, w.probe().status());
    }
  }

  @Test
  void aSessionIsNeverHandedToOtherCredentials() throws Exception {
    try (SessionPool pool = new SessionPool()) {
      IscsiSession s = pool.take(secure(SECRET));
      pool.give(secure(SECRET), s);
      IscsiException e = assertThrows(IscsiException.class, () -> pool.take(secure("not-the-secret")));
      assertFalse(e.getMessage().contains("not-the-secret"), e.getMessage());
      assertEquals(1, pool.idleCount(), "the other credentials' session stays where it was");
      assertSame(s, pool.take(secure(SECRET)));
      pool.give(secure(SECRET), s);
    }
  }

  @Test
  void aClosedPoolLogsOutOfWhatItKeptAndOfWhatItIsGivenLater() throws Exception {
    SessionPool pool = new SessionPool();
    IscsiSession kept = pool.take(plain());
    IscsiSession late = pool.take(plain());
    pool.give(plain(), kept);
    pool.close();
    assertFalse(kept.reusable());
    assertTrue(late.reusable());
    pool.give(plain(), late);
    assertFalse(late.reusable());
    assertEquals(0, pool.idleCount());
  }
}
