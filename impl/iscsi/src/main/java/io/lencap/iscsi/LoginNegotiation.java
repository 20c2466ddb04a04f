package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jscsi.parser.OperationCode;
import org.jscsi.parser.ProtocolDataUnit;
import org.jscsi.parser.login.ISID;
import org.jscsi.parser.login.LoginRequestParser;
import org.jscsi.parser.login.LoginResponseParser;
import org.jscsi.parser.login.LoginStage;
import org.jscsi.parser.login.LoginStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The login phase of one connection (RFC 7143 section 6): the security phase, with CHAP when credentials are given
 * and never falling back to none, then the operational negotiation, whose answers {@link OperationalParameters}
 * checks. Used once, by {@link #login}.
 */
final class LoginNegotiation {

  private static final Logger LOG = LoggerFactory.getLogger(LoginNegotiation.class);
  private static final String NONE = "None";
  /** Operational rounds a target may take before it must let us into the full feature phase. */
  private static final int OPERATIONAL_ROUNDS = 4;

  /**
   * What the login leaves the session with: the sequence numbers to go on from and the negotiated lengths.
   *
   * @param commandSn the CmdSN of the first command (the target's ExpCmdSN)
   * @param maxCommandSn the last CmdSN the target's window takes
   * @param expectedStatusSn the StatSN expected next
   * @param targetMaxRecvDataSegmentLength the most data the target takes per PDU
   * @param maxBurstLength the most data per R2T
   */
  record Result(int commandSn, int maxCommandSn, int expectedStatusSn, int targetMaxRecvDataSegmentLength,
      int maxBurstLength) {}

  private final PduChannel channel;
  private final LunAddress address;
  private final IscsiSession.Options options;
  private final LoginRefusal refusal;
  private final ISID isid = ISID.createRandom(System.nanoTime());
  /** The target's T bit on its last answer. */
  private boolean transit;
  /** The session handle the target assigned. */
  private short tsih;
  private int commandSn;
  private int maxCommandSn;
  private int expectedStatusSn;

  private LoginNegotiation(PduChannel channel, IscsiSession.Options options, LoginRefusal refusal) {
    this.channel = channel;
    this.address = channel.address();
    this.options = options;
    this.refusal = refusal;
  }

  /**
   * Logs in over {@code channel}, with {@code chap} when given; afterwards the channel accepts data segments of the
   * length we declared.
   *
   * @throws IscsiException AUTHENTICATION when credentials are refused, missing, or the target will not use them;
   *     NOT_FOUND, UNAVAILABLE or PROTOCOL as the target's answers say
   */
  static Result login(PduChannel channel, IscsiSession.Options options, LoginRefusal refusal,
      Optional<ChapLogin> chap) throws IOException {
    return new LoginNegotiation(channel, options, refusal).run(chap);
  }

  private Result run(Optional<ChapLogin> chap) throws IOException {
    String method = security(chap);
    if (!transit) {
      throw new IscsiException(Reason.PROTOCOL, "target " + address.iqn()
        + " did not finish the security phase (AuthMethod " + method + ")");
    }
    Map<String, String> operational = offer();
    Map<String, String> negotiated = new HashMap<>();
    Map<String, String> offer = operational;
    for (int round = 0; round < OPERATIONAL_ROUNDS; round++) {
      negotiated.putAll(exchange(LoginStage.LOGIN_OPERATIONAL_NEGOTIATION, true, offer));
      if (transit) {
        OperationalParameters agreed = OperationalParameters.check(negotiated, operational,
          address.iqn() + " at " + address.host() + ":" + address.port());
        channel.acceptDataSegmentsUpTo(options.maxRecvDataSegmentLength());
        LOG.debug("logged in to {} (target MaxRecvDataSegmentLength {})", address,
          agreed.targetMaxRecvDataSegmentLength());
        return new Result(commandSn, maxCommandSn, expectedStatusSn, agreed.targetMaxRecvDataSegmentLength(),
          agreed.maxBurstLength());
      }
      offer = Map.of();
    }
    throw new IscsiException(Reason.PROTOCOL, "target " + address.iqn() + " did not finish login negotiation");
  }

  /** The security phase; returns the AuthMethod the target chose. */
  private String security(Optional<ChapLogin> chap) throws IOException {
    Map<String, String> first = new LinkedHashMap<>();
    first.put("InitiatorName", options.initiatorName());
    first.put("SessionType", "Normal");
    first.put("TargetName", address.iqn());
    // With credentials we offer CHAP only: a target must not be able to talk us out of authentication.
    first.put("AuthMethod", chap.isPresent() ? "CHAP" : NONE);
    Map<String, String> answer = exchange(LoginStage.SECURITY_NEGOTIATION, chap.isEmpty(), first);
    String method = answer.getOrDefault("AuthMethod", NONE).strip();
    if (chap.isPresent()) {
      if (!"CHAP".equals(method)) {
        throw new IscsiException(Reason.AUTHENTICATION, "iSCSI target " + address.iqn() + " at " + address.host()
          + ":" + address.port() + " answered AuthMethod=" + (method.length() > 16 ? method.substring(0, 16) : method)
          + " although CHAP credentials are configured: refusing to log in without authentication");
      }
      Map<String, String> challenge = exchange(LoginStage.SECURITY_NEGOTIATION, false,
        Map.of("CHAP_A", ChapLogin.MD5));
      Map<String, String> result = exchange(LoginStage.SECURITY_NEGOTIATION, true, chap.get().answer(challenge));
      chap.get().verifyTarget(result);
    } else if (!transit && NONE.equals(method)) {
      exchange(LoginStage.SECURITY_NEGOTIATION, true, Map.of());
    }
    if (!transit && chap.isEmpty() && !NONE.equals(method)) {
      throw refusal.of(LoginStatus.AUTHENTICATION_FAILURE);
    }
    return method;
  }

  /** What we offer: the values this initiator relies on (no digests, in-order data, R2T for every write). */
  private Map<String, String> offer() {
    Map<String, String> operational = new LinkedHashMap<>();
    operational.put("HeaderDigest", NONE);
    operational.put("DataDigest", NONE);
    operational.put("MaxConnections", "1");
    operational.put("InitialR2T", "Yes");
    operational.put("ImmediateData", "No");
    operational.put("MaxRecvDataSegmentLength", Integer.toString(options.maxRecvDataSegmentLength()));
    operational.put("MaxBurstLength", Integer.toString(options.maxBurstLength()));
    operational.put("FirstBurstLength", Integer.toString(options.maxBurstLength()));
    operational.put("DefaultTime2Wait", "0");
    operational.put("DefaultTime2Retain", "0");
    operational.put("MaxOutstandingR2T", "1");
    operational.put("DataPDUInOrder", "Yes");
    operational.put("DataSequenceInOrder", "Yes");
    operational.put("ErrorRecoveryLevel", "0");
    return operational;
  }

  /** Sends one login request and returns the target's text answer; sets {@link #transit}. */
  private Map<String, String> exchange(LoginStage stage, boolean wantTransit, Map<String, String> text)
      throws IOException {
    ProtocolDataUnit pdu = channel.create(true, wantTransit, OperationCode.LOGIN_REQUEST);
    LoginRequestParser req = (LoginRequestParser) pdu.getBasicHeaderSegment().getParser();
    req.setCurrentStageNumber(stage);
    req.setNextStageNumber(wantTransit
      ? (stage == LoginStage.SECURITY_NEGOTIATION ? LoginStage.LOGIN_OPERATIONAL_NEGOTIATION
        : LoginStage.FULL_FEATURE_PHASE)
      : stage);
    req.setMaxVersion((byte) 0);
    req.setMinVersion((byte) 0);
    req.setInitiatorSessionID(isid);
    req.setTargetSessionIdentifyingHandle(tsih);
    req.setConnectionID(0);
    req.setCommandSequenceNumber(commandSn);
    req.setExpectedStatusSequenceNumber(expectedStatusSn);
    pdu.getBasicHeaderSegment().setInitiatorTaskTag(0);
    pdu.setDataSegment(ByteBuffer.wrap(TextParameters.encode(text)));
    channel.send(pdu);
    channel.flush();

    PduChannel.Incoming answer = channel.receive();
    if (answer.opCode() != OperationCode.LOGIN_RESPONSE) {
      channel.skipData(answer);
      throw new IscsiException(Reason.PROTOCOL, "target answered login with " + answer.opCode());
    }
    byte[] data = channel.readData(answer);
    LoginResponseParser resp = (LoginResponseParser) answer.pdu().getBasicHeaderSegment().getParser();
    LoginStatus status = resp.getStatus();
    if (status != LoginStatus.SUCCESS) {
      throw refusal.of(status);
    }
    if (resp.isContinueFlag()) {
      throw new IscsiException(Reason.PROTOCOL, "target sent a login answer longer than one PDU");
    }
    tsih = resp.getTargetSessionIdentifyingHandle();
    expectedStatusSn = resp.getStatusSequenceNumber() + 1;
    commandSn = resp.getExpectedCommandSequenceNumber();
    maxCommandSn = resp.getMaximumCommandSequenceNumber();
    transit = answer.pdu().getBasicHeaderSegment().isFinalFlag();
    return TextParameters.decode(data);
  }
}
