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
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
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
      assertEquals(1, pool.counts()[0]);

      long t1 = System.nanoTime();
      IscsiSession again = pool.take(plain());
      long reuse = System.nanoTime() - t1;
      assertSame(first, again);
      assertEquals(0, pool.counts()[0]);
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
      assertEquals(0, pool.counts()[0]);
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
  void aSessionIdleLongerThanItsKeepIsLoggedOutAndReplaced() throws Exception {
    AtomicLong now = new AtomicLong();
    try (SessionPool pool = new SessionPool(now::get, SessionPool.KEEP, SessionPool.PING)) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      now.addAndGet(SessionPool.KEEP.toNanos() + 1);
      IscsiSession next = pool.take(plain());
      assertNotSame(s, next);
      assertFalse(s.reusable(), "the expired session was closed");
      pool.give(plain(), next);
    }
  }

  /** Waits for what the pool's own thread does, whose only trace is the state it leaves. */
  static void await(BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 20 s: " + what);
      }
      LockSupport.parkNanos(5_000_000);
    }
  }

  @Test
  void anIdleSessionIsCheckedWhileItWaitsAndStillServesTheNextCapture() throws Exception {
    try (SessionPool pool = new SessionPool(System::nanoTime, SessionPool.KEEP, Duration.ofMillis(100))) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      await(() -> pool.counts()[1] >= 3, "three checks of the idle session");
      IscsiSession again = pool.take(plain());
      assertSame(s, again);
      firstBlocks(again);
      pool.give(plain(), again);
    }
  }

  @Test
  void aSessionNobodyTakesIsLoggedOutOnceItsKeepHasPassed() throws Exception {
    try (SessionPool pool = new SessionPool(System::nanoTime, Duration.ofMillis(200), Duration.ofMillis(100))) {
      IscsiSession s = pool.take(plain());
      pool.give(plain(), s);
      await(() -> !s.reusable(), "the session logged out after 200 ms idle");
      assertEquals(0, pool.counts()[0]);
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
      assertEquals(1, pool.counts()[0], "the other credentials' session stays where it was");
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
    assertEquals(0, pool.counts()[0]);
  }
}
