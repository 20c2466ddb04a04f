package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The initiator's side of one CHAP exchange (RFC 7143 section 12.1.3): answers the target's challenge and, for
 * mutual CHAP, challenges the target and checks its answer. A challenge shorter than {@link #MIN_CHALLENGE_BYTES}
 * (a fixed or empty one lets a listener replay or precompute answers) or equal to our own (a reflection) is refused
 * before anything derived from the secret is sent. Messages never carry secrets.
 */
final class ChapLogin {

  /** As long as the MD5 digest: RFC 7143 asks challenges to be unpredictable and of this order. */
  static final int MIN_CHALLENGE_BYTES = 16;
  /** CHAP_A value for MD5. */
  static final String MD5 = "5";

  private final Chap initiator;
  private final Optional<Chap> target;
  private final String targetName;
  private final int ourId;
  private final byte[] ourChallenge;

  ChapLogin(Chap initiator, Optional<Chap> target, String targetName, SecureRandom random) {
    this(initiator, target, targetName, random.nextInt(256), randomBytes(random, 32));
  }

  /** With a given challenge of our own: for tests. */
  ChapLogin(Chap initiator, Optional<Chap> target, String targetName, int ourId, byte[] ourChallenge) {
    this.initiator = initiator;
    this.target = target;
    this.targetName = targetName;
    this.ourId = ourId;
    this.ourChallenge = ourChallenge.clone();
  }

  private static byte[] randomBytes(SecureRandom random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  boolean mutual() {
    return target.isPresent();
  }

  /**
   * Our answer to the target's {@code CHAP_A/CHAP_I/CHAP_C}: {@code CHAP_N} and {@code CHAP_R}, plus our own
   * {@code CHAP_I} and {@code CHAP_C} when mutual.
   *
   * @throws IscsiException (AUTHENTICATION) when the challenge is missing, malformed, too short or our own
   */
  Map<String, String> answer(Map<String, String> challenge) throws IscsiException {
    String algorithm = challenge.get("CHAP_A");
    String id = challenge.get("CHAP_I");
    String c = challenge.get("CHAP_C");
    if (!MD5.equals(algorithm == null ? null : algorithm.strip()) || id == null || c == null) {
      throw refused("sent no MD5 CHAP challenge");
    }
    int targetId;
    byte[] bytes;
    try {
      targetId = Integer.decode(id.strip());
      bytes = Chap.decodeBinary(c.strip());
    } catch (RuntimeException e) {
      throw refused("sent a malformed CHAP challenge");
    }
    if (targetId < 0 || targetId > 255) {
      throw refused("sent a CHAP identifier outside 0..255");
    }
    if (bytes.length < MIN_CHALLENGE_BYTES) {
      throw refused("sent a " + bytes.length + "-byte CHAP challenge; at least " + MIN_CHALLENGE_BYTES
        + " are needed so that answers cannot be replayed");
    }
    if (mutual() && MessageDigest.isEqual(bytes, ourChallenge)) {
      throw refused("sent our own CHAP challenge back (a reflection)");
    }
    Map<String, String> answer = new LinkedHashMap<>();
    answer.put("CHAP_N", initiator.name());
    answer.put("CHAP_R", initiator.response(id, c));
    if (mutual()) {
      answer.put("CHAP_I", Integer.toString(ourId));
      answer.put("CHAP_C", "0x" + HexFormat.of().formatHex(ourChallenge));
    }
    return answer;
  }

  /**
   * Checks the target's last security answer: for mutual CHAP it must name the configured target user and answer
   * our challenge under the target's secret.
   *
   * @throws IscsiException (AUTHENTICATION) when the target did not prove it knows the secret
   */
  void verifyTarget(Map<String, String> answer) throws IscsiException {
    if (target.isEmpty()) {
      return;
    }
    String name = answer.get("CHAP_N");
    String response = answer.get("CHAP_R");
    if (name == null || response == null) {
      throw refused("did not answer our CHAP challenge: it cannot prove it is the target configured by "
        + LunSpec.CHAP_TARGET_USER);
    }
    if (!target.get().name().equals(name.strip()) || !target.get().isResponse(ourId, ourChallenge, response)) {
      throw refused("answered our CHAP challenge wrongly: it does not know the secret "
        + LunSpec.CHAP_TARGET_SECRET + " of user " + target.get().name());
    }
  }

  private IscsiException refused(String what) {
    return new IscsiException(Reason.AUTHENTICATION, "iSCSI target " + targetName + " " + what
      + ": refusing the login");
  }
}
