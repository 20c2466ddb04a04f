package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lencap.testing.Allocations;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz targets: what an iSCSI target sends our initiator. The target is a peer we do not control.
 *
 * <p>{@link #targetAnswers}: a scripted peer accepts the session's connection, sends the input as everything the
 * target says (login answers, SCSI responses, Data-In, R2T, NOP-In, ...), then closes; the session opens (login,
 * REPORT LUNS, READ CAPACITY), reads the first block and closes. The seeds are real exchanges recorded from
 * jSCSI's target.
 *
 * <p>Contract: {@link IscsiSession#open} and {@link IscsiSession#read} either succeed, with a block size that is a
 * power of two and a non-empty LUN, or throw {@link IscsiException}; memory stays bounded by what was sent, and
 * each input finishes in bounded time. Any other exception (a runtime exception out of the PDU codec, a negative
 * or huge length) is a finding.
 *
 * <p>{@link #chapLogin}: the same with CHAP credentials, one-way or mutual (the input's last byte says which), so
 * that the target's challenge, its answer to ours and what follows them are played too. Same contract, and with
 * mutual CHAP no session may open: the script cannot answer our random challenge.
 *
 * <p>{@link #textParameters}: login text decodes to keys without {@code =} or NUL, and what it decodes to
 * encodes and decodes to the same.
 *
 * <p>Without {@code JAZZER_FUZZ=1} these run the inputs under {@code src/test/resources/io/lencap/iscsi/
 * IscsiSessionFuzzTestInputs/<method>/}; {@code scripts/fuzz.sh} fuzzes them.
 */
class IscsiSessionFuzzTest {
  static final String IQN = "iqn.2024-01.io.lencap.test:fuzz";
  static final Chap INITIATOR = Chap.of("initiator", "initiator-secret");
  static final Chap TARGET = Chap.of("target", "the-target-secret");
  private static final long TIME_LIMIT_NANOS = 10_000_000_000L;
  private static ServerSocket server;
  private static ExecutorService peer;

  @BeforeAll
  static void listen() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    server.setSoTimeout(5_000); // a peer whose session never connected gives up before the next input
    peer = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "scripted-iscsi-target");
      t.setDaemon(true);
      return t;
    });
  }

  @AfterAll
  static void stop() throws IOException {
    peer.shutdownNow();
    server.close();
  }

  static IscsiSession.Options options() {
    return new IscsiSession.Options("iqn.2024-01.io.lencap:initiator", 256 * 1024, 256 * 1024, Duration.ofSeconds(5), 8);
  }

  @FuzzTest(maxDuration = "10m")
  void targetAnswers(byte[] script) throws Exception {
    withinBounds(script, Optional.empty(), Optional.empty());
  }

  @FuzzTest(maxDuration = "10m")
  void chapLogin(FuzzedDataProvider input) throws Exception {
    boolean mutual = input.consumeBoolean(); // the input's last byte
    byte[] script = input.consumeRemainingAsBytes();
    withinBounds(script, Optional.of(INITIATOR), mutual ? Optional.of(TARGET) : Optional.empty());
  }

  private static void withinBounds(byte[] script, Optional<Chap> chap, Optional<Chap> targetChap) throws Exception {
    long allocated = session(script, chap, targetChap);
    // The session's own buffers (64 KiB each way, a REPORT LUNS answer) plus what the peer sent. The first run of
    // a path also loads (and instruments) classes on this thread: only an input that allocates too much twice is
    // a finding.
    long bound = (8L << 20) + 16L * script.length;
    if (allocated > bound && session(script, chap, targetChap) > bound) {
      fail("a session fed " + script.length + " bytes allocated " + allocated + " bytes");
    }
  }

  /** Plays the script to a new session; returns the bytes the session allocated on this thread. */
  private static long session(byte[] script, Optional<Chap> chap, Optional<Chap> targetChap) throws Exception {
    Future<?> played = peer.submit(() -> play(script));
    LunAddress address = new LunAddress("127.0.0.1", server.getLocalPort(), IQN, 0);
    long started = System.nanoTime();
    long before = Allocations.ofThisThread();
    // Jazzer's SSRF detector refuses connections a test has not allowed: the scripted peer is the one allowed.
    try (SilentCloseable peerOnly = BugDetectors.allowNetworkConnections(
            (host, port) -> port == server.getLocalPort());
         IscsiSession session = IscsiSession.open(address, chap, targetChap, options())) {
      if (targetChap.isPresent()) {
        fail("a mutual CHAP session opened although the script cannot answer our random challenge");
      }
      assertTrue(session.blockSize() > 0 && Integer.bitCount(session.blockSize()) == 1,
          "block size " + session.blockSize());
      assertTrue(session.blockCount() > 0, "block count " + session.blockCount());
      session.read(0, ByteBuffer.allocate(session.blockSize()));
    } catch (IscsiException refused) {
      // the documented outcome for a target that misbehaves
    }
    long allocated = Allocations.ofThisThread() - before;
    long took = System.nanoTime() - started;
    if (took > TIME_LIMIT_NANOS) {
      fail("a session fed " + script.length + " bytes took " + took / 1_000_000 + " ms");
    }
    played.get(10, TimeUnit.SECONDS);
    return allocated;
  }

  /** Accepts one connection, sends the script, closes its side and drains what the initiator sends. */
  private static void play(byte[] script) {
    try (Socket s = server.accept()) {
      s.setSoTimeout(10_000);
      try {
        OutputStream out = s.getOutputStream();
        out.write(script);
        out.flush();
        s.shutdownOutput();
      } catch (IOException initiatorLeft) {
        return; // the session gave up before reading it all
      }
      InputStream in = s.getInputStream();
      byte[] sink = new byte[64 * 1024];
      while (in.read(sink) >= 0) {
        // the initiator's requests: the script does not depend on them
      }
    } catch (IOException e) {
      // the peer's own trouble is not the session's finding
    }
  }

  @FuzzTest(maxDuration = "5m")
  void textParameters(byte[] text) {
    Map<String, String> decoded = TextParameters.decode(text);
    decoded.forEach((key, value) -> {
      assertTrue(!key.isEmpty() && key.indexOf('=') < 0 && key.indexOf('\0') < 0, "key " + key);
      assertTrue(value.indexOf('\0') < 0, "value " + value);
    });
    assertEquals(decoded, TextParameters.decode(TextParameters.encode(decoded)));
  }
}
