package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.api.UnavailableException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The provider against a real istgt: the "must show" (512 MiB LUN, 1% rewrite, incremental capture,
 * restore in place and elsewhere) and its faults (target killed mid-transfer, wrong CHAP secret, LUN too small,
 * LUN not found). Phases are driven in the engine's order over the TCK's in-memory store.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IscsiLunIT {

  static final long BIG = 512L << 20;
  static final long SMALL = 64L << 20;
  static final int CHUNK = 256 * 1024;
  static final String USER = "lencap";
  static final String SECRET = "chap-secret-4711";

  @TempDir
  static Path dir;
  static IstgtTarget istgt;
  static final IscsiProvider provider = new IscsiProvider();

  @BeforeAll
  static void start() throws Exception {
    istgt = new IstgtTarget(dir,
      IstgtTarget.Spec.of("data", BIG, SMALL, BIG),
      IstgtTarget.Spec.of("secure", SMALL).withChap(USER, SECRET));
  }

  @AfterAll
  static void stop() {
    if (istgt != null) {
      istgt.close();
    }
  }

  static Resource lun(int n) {
    return Resource.builder("lun").type("block").locator(istgt.locator("data", n)).build();
  }

  static Resource secure(String secret) {
    return Resource.builder("lun").type("block").locator(istgt.locator("secure", 0))
      .property(LunSpec.CHAP_USER, USER).secret(LunSpec.CHAP_SECRET, Secret.of(secret)).build();
  }

  static IscsiSession session(Resource r) throws IscsiException {
    return LunSpec.of(r).connect();
  }

  static String hash(Resource r) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (IscsiSession s = session(r)) {
      s.stream(0, s.sizeBytes(), 1 << 20, (offset, data) -> sha.update(data));
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Rewrites 1% of the LUN's {@code chunk}-byte blocks, at random places, with random bytes; how many. */
  static int rewriteOnePercent(Resource r, int chunk, long seed) throws Exception {
    Random random = new Random(seed);
    byte[] data = new byte[chunk];
    java.util.Set<Integer> touched = new java.util.HashSet<>();
    try (IscsiSession s = session(r)) {
      int blocks = (int) (s.sizeBytes() / chunk);
      while (touched.size() < blocks / 100) {
        int b = random.nextInt(blocks);
        if (touched.add(b)) {
          random.nextBytes(data);
          s.write((long) b * chunk / s.blockSize(), ByteBuffer.wrap(data));
        }
      }
    }
    return touched.size();
  }

  static void fillRandom(Resource r, long seed) throws Exception {
    Random random = new Random(seed);
    byte[] data = new byte[1 << 20];
    try (IscsiSession s = session(r)) {
      for (long off = 0; off < s.sizeBytes(); off += data.length) {
        random.nextBytes(data);
        s.write(off / s.blockSize(), ByteBuffer.wrap(data));
      }
    }
  }

  static ProviderContext context() {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return dir;
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  /** Reaches the TCK's context classes (protected: visible to subclasses only). Never run as a test. */
  abstract static class Phases extends ResourceProviderContract {
    static CaptureContext captureContext(Resource r, CaptureMode mode, String id, Optional<StoredState> parent,
                       io.lencap.spi.StateSink sink) {
      return new TckCaptureContext(r, mode, id, parent, sink);
    }

    static io.lencap.spi.RestoreContext restoreContext(Resource captured, Resource target, StoredState state) {
      return new TckRestoreContext(captured, target, state);
    }
  }

  record Captured(StoredState state, long newBytes, double seconds) {}

  static Captured capture(Resource r, MemoryState.Chunks chunks, String id, Optional<StoredState> parent)
    throws Exception {
    MemoryState sink = new MemoryState(chunks, id);
    CaptureContext ctx = Phases.captureContext(r, CaptureMode.NON_BLOCKING, id, parent, sink);
    long t0 = System.nanoTime();
    try (ResourceDriver d = provider.open(r, context())) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      try {
        assertFalse(cut.live(), "istgt cannot snapshot: the cut is in place");
        d.transfer(cut, ctx);
      } finally {
        d.resume();
        d.release(cut);
      }
    }
    return new Captured(sink.seal(), sink.newBytes(), (System.nanoTime() - t0) / 1e9);
  }

  static double restore(Resource captured, Resource target, StoredState state) throws Exception {
    long t0 = System.nanoTime();
    try (ResourceDriver d = provider.open(target, context())) {
      var ctx = Phases.restoreContext(captured, target, state);
      d.prepareRestore(ctx);
      d.restore(ctx);
      d.resume();
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  static MemoryState.Chunks chunks = new MemoryState.Chunks();
  static Captured first;
  static String original;

  @Test
  @Order(1)
  void incrementalCaptureAndRestoreOfA512MiBLun() throws Exception {
    Resource r = lun(0);
    fillRandom(r, 1);
    original = hash(r);
    first = capture(r, chunks, "cp1", Optional.empty());
    assertEquals(BIG, first.newBytes(), "the first capture stores the whole random LUN");

    int touched = rewriteOnePercent(r, CHUNK, 2);
    String changed = hash(r);
    Captured second = capture(r, chunks, "cp2", Optional.of(first.state()));
    double ratio = (double) second.newBytes() / first.newBytes();
    System.out.printf("capture 1: %d bytes new in %.2f s; capture 2 after 1%% rewrite: %d bytes new (%.2f%%) in %.2f s%n",
      first.newBytes(), first.seconds(), second.newBytes(), ratio * 100, second.seconds());
    assertEquals((long) touched * CHUNK, second.newBytes(), "the second capture stores exactly the rewritten blocks");
    assertTrue(ratio > 0.005 && ratio < 0.015, "second capture stored " + ratio * 100 + "% of the first");

    long readBefore = chunks.bytesRead();
    double differential = restore(r, r, first.state());
    assertEquals(original, hash(r), "the LUN after restore equals the first checkpoint");
    assertEquals((long) touched * CHUNK, chunks.bytesRead() - readBefore,
      "the differential restore read from the store the chunks that differ, once, and nothing else");
    System.out.printf("differential restore of cp1 (1%% differs): %.2f s%n", differential);

    // Restore onto another LUN of the same size (Placement): a full write there.
    Resource elsewhere = Placement.builder().move("lun", istgt.locator("data", 2)).build().apply(r);
    double full = restore(r, elsewhere, first.state());
    assertEquals(original, hash(elsewhere), "the LUN restored elsewhere equals the first checkpoint");
    System.out.printf("full restore of cp1 onto LUN 2: %.2f s%n", full);

    // And back to the second checkpoint in place.
    restore(r, r, second.state());
    assertEquals(changed, hash(r));
  }

  @Test
  @Order(2)
  void aLunTooSmallIsRefusedBeforeAnythingIsWritten() throws Exception {
    Resource small = Placement.builder().move("lun", istgt.locator("data", 1)).build().apply(lun(0));
    String before = hash(small);
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> restore(lun(0), small, first.state()));
    assertEquals("placement[lun].locator", e.field());
    assertTrue(e.getMessage().contains(Long.toString(SMALL)) && e.getMessage().contains(Long.toString(BIG)),
      e.getMessage());
    assertEquals(before, hash(small), "nothing was written to the small LUN");
  }

  @Test
  @Order(3)
  void aMissingLunOrTargetIsNotFound() {
    Resource noLun = Resource.builder("lun").type("block")
      .locator(istgt.locator("data", 0).toString().replace("/0", "/9")).build();
    NotFoundException e = assertThrows(NotFoundException.class, () -> capture(noLun, new MemoryState.Chunks(), "x",
      Optional.empty()));
    assertTrue(e.getMessage().contains("LUN 9") && e.getMessage().contains("[0, 1, 2]"), e.getMessage());
    Resource noTarget = Resource.builder("lun").type("block")
      .locator(istgt.locator("data", 0).toString().replace(":data/", ":nothing/")).build();
    NotFoundException t = assertThrows(NotFoundException.class, () -> restore(lun(0), noTarget, first.state()));
    assertTrue(t.getMessage().contains("not found"), t.getMessage());
  }

  @Test
  @Order(4)
  void chapWorksAndAWrongSecretIsRefusedWithoutShowingIt() throws Exception {
    Captured ok = capture(secure(SECRET), new MemoryState.Chunks(), "chap", Optional.empty());
    assertEquals(SMALL, ok.state().entry(LunDriver.ENTRY).orElseThrow().size());

    MemoryState sink = new MemoryState(new MemoryState.Chunks(), "bad");
    UnavailableException e = assertThrows(UnavailableException.class,
      () -> capture(secure("wrong-secret-0815"), new MemoryState.Chunks(), "bad", Optional.empty()));
    assertTrue(e.getMessage().contains("refused the CHAP credentials"), e.getMessage());
    for (Throwable t = e; t != null; t = t.getCause()) {
      assertFalse(String.valueOf(t.getMessage()).contains("wrong-secret-0815"), t.getMessage());
      assertFalse(String.valueOf(t.getMessage()).contains(SECRET), t.getMessage());
    }
    Resource noCredentials = Resource.builder("lun").type("block").locator(istgt.locator("secure", 0)).build();
    UnavailableException none = assertThrows(UnavailableException.class,
      () -> capture(noCredentials, new MemoryState.Chunks(), "none", Optional.empty()));
    assertTrue(none.getMessage().contains("requires CHAP"), none.getMessage());
    assertTrue(sink.seal().entries().isEmpty());

    // A LUN captured without CHAP, restored onto one that requires it: the placement brings the credentials.
    Resource open = lun(1);
    Captured plain = capture(open, new MemoryState.Chunks(), "plain", Optional.empty());
    Resource onto = Placement.builder().move("lun", istgt.locator("secure", 0), java.util.Map.of(LunSpec.CHAP_USER,
      USER), java.util.Map.of(LunSpec.CHAP_SECRET, Secret.of(SECRET))).build().apply(open);
    restore(open, onto, plain.state());
    assertEquals(hash(open), hash(onto), "restored onto the CHAP LUN with the placement's credentials");
  }

  @Test
  @Order(5)
  void aTargetKilledMidTransferFailsTheCaptureWithoutAnEntry() throws Exception {
    Resource r = lun(0);
    MemoryState sink = new MemoryState(new MemoryState.Chunks(), "killed");
    AtomicLong seen = new AtomicLong();
    // A sink that kills istgt once 64 MiB went through: the target dies in the middle of the transfer.
    CaptureContext ctx = Phases.captureContext(r, CaptureMode.NON_BLOCKING, "killed",
      Optional.empty(), new KillingSink(sink, seen, 64L << 20, () -> istgt.kill()));
    try (ResourceDriver d = provider.open(r, context())) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      UnavailableException e = assertThrows(UnavailableException.class, () -> d.transfer(cut, ctx));
      assertTrue(e.getMessage().contains("iSCSI target") && (e.getMessage().contains("closed the connection") || e.getMessage().contains("failed")),
        e.getMessage());
      d.resume();
      d.release(cut);
    } finally {
      istgt.start();
    }
    assertTrue(seen.get() >= 64L << 20 && seen.get() < BIG, "killed mid-transfer at " + seen.get());
    assertTrue(sink.seal().entries().isEmpty(), "no partial LUN entry");
    assertEquals(io.lencap.spi.Health.Status.HEALTHY, provider.watch(r, context()).probe().status(),
      "the restarted target serves again");
  }
}
