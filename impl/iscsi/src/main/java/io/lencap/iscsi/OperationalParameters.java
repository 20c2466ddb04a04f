package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.util.Map;

/**
 * The login's operational answers, each checked against the range RFC 7143 (section 13) allows and against what
 * we offered. A value outside them is refused: a MaxRecvDataSegmentLength of 0 would make the Data-Out loop spin,
 * one of 2 GiB would let the target size our buffers.
 *
 * @param targetMaxRecvDataSegmentLength the most data the target takes per PDU (declared by the target)
 * @param maxBurstLength the most data per sequence (R2T), negotiated
 * @param firstBurstLength negotiated; unused since we send no unsolicited data, still checked
 */
record OperationalParameters(int targetMaxRecvDataSegmentLength, int maxBurstLength, int firstBurstLength) {

  /** RFC 7143: data segment and burst lengths are 512 to 2^24 - 1 bytes. */
  static final int MIN_LENGTH = 512;
  static final int MAX_LENGTH = (1 << 24) - 1;
  /** The RFC's defaults, in force for keys the target does not answer. */
  static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;
  static final int DEFAULT_MAX_BURST_LENGTH = 262144;
  static final int DEFAULT_FIRST_BURST_LENGTH = 65536;

  /**
   * Checks the target's answers to our offer ({@code offered}: the keys and values we sent).
   *
   * @throws IscsiException (PROTOCOL) naming the target, key and value when an answer is out of range or not what
   *     the session relies on
   */
  static OperationalParameters check(Map<String, String> answers, Map<String, String> offered, String target)
      throws IscsiException {
    Checker c = new Checker(answers, target);
    int mrdsl = c.number("MaxRecvDataSegmentLength", MIN_LENGTH, MAX_LENGTH, DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH);
    // Negotiated by minimum: the answer may not exceed our offer.
    int burst = c.number("MaxBurstLength", MIN_LENGTH, offer(offered, "MaxBurstLength"), DEFAULT_MAX_BURST_LENGTH);
    // Irrelevant without unsolicited data (InitialR2T=Yes, ImmediateData=No): a target may say so (RFC 7143 6.2).
    int first = "Irrelevant".equals(answers.getOrDefault("FirstBurstLength", "").strip())
      ? Math.min(burst, DEFAULT_FIRST_BURST_LENGTH)
      : c.number("FirstBurstLength", MIN_LENGTH, Math.min(burst, offer(offered, "FirstBurstLength")),
        Math.min(burst, DEFAULT_FIRST_BURST_LENGTH));
    c.number("MaxOutstandingR2T", 1, offer(offered, "MaxOutstandingR2T"), 1);
    c.number("DefaultTime2Wait", 0, 3600, 0);
    c.number("DefaultTime2Retain", 0, 3600, 0);
    c.number("MaxConnections", 1, offer(offered, "MaxConnections"), 1);
    c.number("ErrorRecoveryLevel", 0, offer(offered, "ErrorRecoveryLevel"), 0);
    // What the session's framing relies on: no digests, data in order, no unsolicited data.
    c.exactly("HeaderDigest", "None");
    c.exactly("DataDigest", "None");
    c.exactly("DataPDUInOrder", "Yes");
    c.exactly("DataSequenceInOrder", "Yes");
    c.exactly("InitialR2T", "Yes");
    c.exactly("ImmediateData", "No");
    return new OperationalParameters(mrdsl, burst, first);
  }

  private static int offer(Map<String, String> offered, String key) {
    return Integer.parseInt(offered.get(key));
  }

  private record Checker(Map<String, String> answers, String target) {

    int number(String key, int min, int max, int fallback) throws IscsiException {
      String text = answers.get(key);
      if (text == null) {
        return fallback;
      }
      try {
        long value = Long.parseLong(text.strip());
        if (value >= min && value <= max) {
          return (int) value;
        }
      } catch (NumberFormatException e) {
        // refused below
      }
      throw new IscsiException(Reason.PROTOCOL, "iSCSI target " + target + " answered " + key + "="
        + shown(text) + ", outside " + min + ".." + max + ": refusing the session");
    }

    void exactly(String key, String expected) throws IscsiException {
      String text = answers.get(key);
      if (text != null && !expected.equals(text.strip())) {
        throw new IscsiException(Reason.PROTOCOL, "iSCSI target " + target + " answered " + key + "="
          + shown(text) + " where this initiator needs " + expected + ": refusing the session");
      }
    }

    /** A peer's value in a message: short, printable. */
    private static String shown(String text) {
      String cut = text.length() > 32 ? text.substring(0, 32) + "..." : text;
      return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
  }
}
