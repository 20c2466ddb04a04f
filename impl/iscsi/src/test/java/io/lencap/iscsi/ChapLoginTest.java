package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.IOException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CHAP against a scripted target: no fallback to no authentication, no answer to a weak or reflected challenge,
 * and mutual CHAP in which the target must prove it knows its own secret. No secret reaches a message.
 */
class ChapLoginTest {

  static final String USER = "alice";
  static final String SECRET = "initiator-secret-1";
  static final String TARGET_USER = "target-bob";
  static final String TARGET_SECRET = "target-secret-22";
  ScriptedTarget target;

  @AfterEach
  void stop() throws IOException {
    if (target != null) {
      target.close();
    }
  }

  IscsiSession open(Optional<Chap> targetChap) throws IscsiException {
    IscsiSession.Options d = IscsiSession.Options.defaults();
    return IscsiSession.open(target.address(0), Optional.of(Chap.of(USER, SECRET)), targetChap,
      new IscsiSession.Options(d.initiatorName(), d.maxRecvDataSegmentLength(), d.maxBurstLength(),
        Duration.ofSeconds(5), 8));
  }

  static void assertNoSecret(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      assertFalse(m.contains(SECRET) || m.contains(TARGET_SECRET), m);
    }
  }

  @Test
  void aTargetAnsweringNoneIsRefusedWhenCredentialsAreConfigured() throws Exception {
    target = new ScriptedTarget(); // answers AuthMethod=None whatever is offered
    IscsiException e = assertThrows(IscsiException.class, () -> open(Optional.empty()).close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertTrue(e.getMessage().contains("AuthMethod=None") && e.getMessage().contains(ScriptedTarget.IQN)
      && e.getMessage().contains("without authentication"), e.getMessage());
    assertNoSecret(e);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0x", "0x00", "0x0123456789abcdef", "0x0123456789abcdef0123456789abcd", "0bAAAA"})
  void aChallengeShorterThan16BytesIsNotAnswered(String challenge) throws Exception {
    target = new ScriptedTarget();
    target.authMethod = "CHAP";
    target.challenge = challenge;
    IscsiException e = assertThrows(IscsiException.class, () -> open(Optional.empty()).close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertTrue(e.getMessage().contains("CHAP challenge"), e.getMessage());
    assertNull(target.initiatorChallenge, "no CHAP_R was sent");
    assertNoSecret(e);
  }

  @Test
  void oneWayChapLogsIn() throws Exception {
    target = new ScriptedTarget();
    target.authMethod = "CHAP";
    target.initiatorSecret = SECRET;
    try (IscsiSession s = open(Optional.empty())) {
      assertEquals(32L << 20, s.sizeBytes());
    }
    assertNull(target.failure());
  }

  @Test
  void mutualChapLogsInWhenTheTargetProvesItsSecret() throws Exception {
    target = new ScriptedTarget();
    target.authMethod = "CHAP";
    target.initiatorSecret = SECRET;
    target.mutualName = TARGET_USER;
    target.mutualSecret = TARGET_SECRET;
    try (IscsiSession s = open(Optional.of(Chap.of(TARGET_USER, TARGET_SECRET)))) {
      assertEquals(32L << 20, s.sizeBytes());
    }
    assertTrue(Chap.decodeBinary(target.initiatorChallenge).length >= ChapLogin.MIN_CHALLENGE_BYTES,
      target.initiatorChallenge);
    assertNull(target.failure());
  }

  @Test
  void aTargetThatDoesNotKnowItsSecretIsRefused() throws Exception {
    target = new ScriptedTarget();
    target.authMethod = "CHAP";
    target.mutualName = TARGET_USER;
    target.mutualSecret = "an-impostor-guess";
    IscsiException e = assertThrows(IscsiException.class,
      () -> open(Optional.of(Chap.of(TARGET_USER, TARGET_SECRET))).close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertTrue(e.getMessage().contains("answered our CHAP challenge wrongly")
      && e.getMessage().contains(LunSpec.CHAP_TARGET_SECRET), e.getMessage());
    assertNoSecret(e);
  }

  @Test
  void aTargetThatIgnoresOurChallengeIsRefused() throws Exception {
    target = new ScriptedTarget();
    target.authMethod = "CHAP"; // one-way only: it never answers CHAP_I/CHAP_C
    IscsiException e = assertThrows(IscsiException.class,
      () -> open(Optional.of(Chap.of(TARGET_USER, TARGET_SECRET))).close());
    assertEquals(Reason.AUTHENTICATION, e.reason());
    assertTrue(e.getMessage().contains("did not answer our CHAP challenge"), e.getMessage());
  }

  @Test
  void ourOwnChallengeReflectedBackIsNotAnswered() throws Exception {
    byte[] ours = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
    ChapLogin login = new ChapLogin(Chap.of(USER, SECRET), Optional.of(Chap.of(TARGET_USER, TARGET_SECRET)),
      "iqn.x:y", 9, ours);
    IscsiException e = assertThrows(IscsiException.class, () -> login.answer(Map.of("CHAP_A", "5", "CHAP_I", "9",
      "CHAP_C", "0x00112233445566778899aabbccddeeff")));
    assertTrue(e.getMessage().contains("reflection"), e.getMessage());
    // A different challenge of the same length is answered, with ours attached.
    Map<String, String> answer = login.answer(Map.of("CHAP_A", "5", "CHAP_I", "9",
      "CHAP_C", "0xffeeddccbbaa99887766554433221100"));
    assertEquals("0x00112233445566778899aabbccddeeff", answer.get("CHAP_C"));
    assertEquals(USER, answer.get("CHAP_N"));
  }
}
