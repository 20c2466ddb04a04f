package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.jscsi.exception.InternetSCSIException;
import org.jscsi.parser.OperationCode;
import org.jscsi.parser.ProtocolDataUnit;
import org.jscsi.parser.ProtocolDataUnitFactory;
import org.jscsi.parser.TargetMessageParser;
import org.jscsi.parser.data.DataInParser;
import org.jscsi.parser.data.DataOutParser;
import org.jscsi.parser.login.ISID;
import org.jscsi.parser.login.LoginRequestParser;
import org.jscsi.parser.login.LoginResponseParser;
import org.jscsi.parser.login.LoginStage;
import org.jscsi.parser.login.LoginStatus;
import org.jscsi.parser.logout.LogoutRequestParser;
import org.jscsi.parser.nop.NOPInParser;
import org.jscsi.parser.r2t.Ready2TransferParser;
import org.jscsi.parser.scsi.SCSICommandParser;
import org.jscsi.parser.scsi.SCSIResponseParser;
import org.jscsi.parser.scsi.SCSIStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI session (one connection, error recovery level 0) to one LUN, with pipelined commands.
 *
 * <p>Why not jSCSI's {@code Initiator}: its classes are final, it addresses only LUN 0, its security phase is
 * empty (no CHAP), and it keeps one command in flight (about 120 MiB/s against istgt where libiscsi reads
 * 1.7 GB/s). This class keeps jSCSI's PDU codec (org.jscsi:commons) and adds what is missing: the LUN field,
 * CHAP (one-way or mutual), a command window, NOP-In answers, and time limits on every socket read and write.
 *
 * <p>The target is a peer we do not control: every length it sends is checked against what was asked (Data-In
 * offsets, residuals, R2T ranges, data segment sizes), negotiated values against RFC 7143's ranges, and a READ
 * reported GOOD with fewer bytes than asked fails naming the target and LBA. Calls are serialised by a lock;
 * {@link #close()} from another thread while a call is stuck drops the connection instead of waiting for it.
 */
final class IscsiSession implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IscsiSession.class);
  private static final int NO_TAG = 0xffffffff;
  private static final String NONE = "None";
  /** Bytes per READ command in {@link #stream}, rounded down to whole pieces. */
  private static final int READ_BYTES = 1 << 20;
  /** RFC 7143: login PDUs carry at most 8192 data bytes until MaxRecvDataSegmentLength is negotiated. */
  private static final int LOGIN_DATA_BYTES = 8192;
  private static final SecureRandom RANDOM = new SecureRandom();
  /** How long a polite logout may take on close. */
  private static final Duration LOGOUT_TIMEOUT = Duration.ofSeconds(2);

  /** Tunables; the defaults are the sizes measured best against istgt here. */
  record Options(String initiatorName, int maxRecvDataSegmentLength, int maxBurstLength, Duration timeout,
          int queueDepth) {
    static Options defaults() {
      return new Options("iqn.2024-01.io.lencap:initiator", 256 * 1024, 256 * 1024, Duration.ofSeconds(30), 8);
    }
  }

  /** Receives streamed data in order; the buffer is reused once the call returns. */
  @FunctionalInterface
  interface BlockSink {
    void accept(long byteOffset, ByteBuffer data) throws IOException;
  }

  private final LunAddress address;
  private final Options options;
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final DeadlineOutputStream deadlineOut;
  /** Held by each call; close() uses the connection only when it can take it. */
  private final ReentrantLock io = new ReentrantLock();
  private final ProtocolDataUnitFactory pdus = new ProtocolDataUnitFactory();
  private final Map<Integer, Task> inFlight = new HashMap<>();
  private final byte[] header = new byte[48]; // basic header segment

  private int commandSn;
  private int maxCommandSn;
  private int expectedStatusSn;
  private int nextTag = 1;
  private int targetMaxRecvDataSegmentLength = OperationalParameters.DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  private int maxBurstLength = OperationalParameters.DEFAULT_MAX_BURST_LENGTH;
  /** The largest data segment we accept from the target: 8192 during login, then what we declared. */
  private int maxIncomingData = LOGIN_DATA_BYTES;
  private List<Integer> reportedLuns = List.of();
  private long blockCount;
  private int blockSize;
  private volatile IOException broken;
  /** Login state: the target's T bit on its last answer, and the session handle it assigned. */
  private boolean transit;
  private short tsih;
  private boolean loginWithChap;

  private IscsiSession(LunAddress address, Options options, Socket socket) throws IOException {
    this.address = address;
    this.options = options;
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
    this.deadlineOut = new DeadlineOutputStream(socket, options.timeout());
    this.out = new BufferedOutputStream(deadlineOut, 64 * 1024);
  }

  /** Connects without mutual CHAP: see {@link #open(LunAddress, Optional, Optional, Options)}. */
  static IscsiSession open(LunAddress address, Optional<Chap> chap, Options options) throws IscsiException {
    return open(address, chap, Optional.empty(), options);
  }

  /**
   * Connects, logs in (with CHAP when {@code chap} is given, and mutual CHAP when {@code targetChap} is too),
   * checks that the LUN exists and is a disk, and reads its capacity. With credentials, a target that does not
   * authenticate is refused: there is no fallback to no authentication.
   */
  static IscsiSession open(LunAddress address, Optional<Chap> chap, Optional<Chap> targetChap, Options options)
      throws IscsiException {
    if (targetChap.isPresent() && chap.isEmpty()) {
      throw new IllegalArgumentException("mutual CHAP needs the initiator's credentials too");
    }
    Socket socket = new Socket();
    IscsiSession session = null;
    try {
      int timeoutMillis = (int) options.timeout().toMillis();
      socket.connect(new InetSocketAddress(address.host(), address.port()), timeoutMillis);
      socket.setSoTimeout(timeoutMillis);
      socket.setTcpNoDelay(true);
      session = new IscsiSession(address, options, socket);
      session.login(chap.map(c -> new ChapLogin(c, targetChap, address.iqn(), RANDOM)));
      session.checkLunExists();
      session.checkLunIsADisk();
      session.readCapacity();
      return session;
    } catch (IscsiException e) {
      closeQuietly(session, socket);
      throw e;
    } catch (IOException e) {
      closeQuietly(session, socket);
      throw new IscsiException(Reason.UNAVAILABLE, "cannot reach iSCSI target at " + address.host() + ":"
        + address.port() + ": " + e.getMessage(), e);
    }
  }

  private static void closeQuietly(IscsiSession session, Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing to save
    }
  }

  LunAddress address() {
    return address;
  }

  long blockCount() {
    return blockCount;
  }

  int blockSize() {
    return blockSize;
  }

  long sizeBytes() {
    return blockCount * blockSize;
  }

  // ---------------------------------------------------------------- login

  private void login(Optional<ChapLogin> chap) throws IOException {
    ISID isid = ISID.createRandom(System.nanoTime());
    loginWithChap = chap.isPresent();
    Map<String, String> first = new LinkedHashMap<>();
    first.put("InitiatorName", options.initiatorName());
    first.put("SessionType", "Normal");
    first.put("TargetName", address.iqn());
    // With credentials we offer CHAP only: a target must not be able to talk us out of authentication.
    first.put("AuthMethod", chap.isPresent() ? "CHAP" : NONE);
    Map<String, String> answer = loginExchange(isid, LoginStage.SECURITY_NEGOTIATION, chap.isEmpty(), first);
    String method = answer.getOrDefault("AuthMethod", NONE).strip();
    if (chap.isPresent()) {
      if (!"CHAP".equals(method)) {
        throw new IscsiException(Reason.AUTHENTICATION, "iSCSI target " + address.iqn() + " at " + address.host()
          + ":" + address.port() + " answered AuthMethod=" + (method.length() > 16 ? method.substring(0, 16) : method)
          + " although CHAP credentials are configured: refusing to log in without authentication");
      }
      Map<String, String> challenge = loginExchange(isid, LoginStage.SECURITY_NEGOTIATION, false,
        Map.of("CHAP_A", ChapLogin.MD5));
      Map<String, String> result = loginExchange(isid, LoginStage.SECURITY_NEGOTIATION, true,
        chap.get().answer(challenge));
      chap.get().verifyTarget(result);
    } else if (!transit && NONE.equals(method)) {
      loginExchange(isid, LoginStage.SECURITY_NEGOTIATION, true, Map.of());
    }
    if (!transit && chap.isEmpty() && !NONE.equals(method)) {
      throw loginFailure(LoginStatus.AUTHENTICATION_FAILURE);
    }
    if (!transit) {
      throw new IscsiException(Reason.PROTOCOL, "target " + address.iqn()
        + " did not finish the security phase (AuthMethod " + method + ")");
    }
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
    Map<String, String> negotiated = new HashMap<>();
    Map<String, String> offer = operational;
    for (int round = 0; round < 4; round++) {
      negotiated.putAll(loginExchange(isid, LoginStage.LOGIN_OPERATIONAL_NEGOTIATION, true, offer));
      if (transit) {
        OperationalParameters agreed = OperationalParameters.check(negotiated, operational,
          address.iqn() + " at " + address.host() + ":" + address.port());
        targetMaxRecvDataSegmentLength = agreed.targetMaxRecvDataSegmentLength();
        maxBurstLength = agreed.maxBurstLength();
        maxIncomingData = options.maxRecvDataSegmentLength();
        LOG.debug("logged in to {} (target MaxRecvDataSegmentLength {})", address, targetMaxRecvDataSegmentLength);
        return;
      }
      offer = Map.of();
    }
    throw new IscsiException(Reason.PROTOCOL, "target " + address.iqn() + " did not finish login negotiation");
  }

  /** Sends one login request and returns the target's text answer; sets {@link #transit}. */
  private Map<String, String> loginExchange(ISID isid, LoginStage stage, boolean wantTransit,
                       Map<String, String> text) throws IOException {
    ProtocolDataUnit pdu = pdus.create(true, wantTransit, OperationCode.LOGIN_REQUEST, NONE, NONE);
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
    send(pdu);
    flush();

    Incoming answer = receive();
    if (answer.opCode() != OperationCode.LOGIN_RESPONSE) {
      skipData(answer);
      throw new IscsiException(Reason.PROTOCOL, "target answered login with " + answer.opCode());
    }
    byte[] data = readData(answer);
    LoginResponseParser resp = (LoginResponseParser) answer.pdu().getBasicHeaderSegment().getParser();
    LoginStatus status = resp.getStatus();
    if (status != LoginStatus.SUCCESS) {
      throw loginFailure(status);
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

  private IscsiException loginFailure(LoginStatus status) {
    String target = "iSCSI target " + address.iqn() + " at " + address.host() + ":" + address.port();
    if (status == null) { // a status class and detail jSCSI does not know
      return new IscsiException(Reason.PROTOCOL, target + " refused the login with an unknown status");
    }
    return switch (status) {
      case NOT_FOUND, TARGET_REMOVED -> new IscsiException(Reason.NOT_FOUND, target + " not found");
      case AUTHENTICATION_FAILURE, AUTHORIZATION_FAILURE -> new IscsiException(Reason.AUTHENTICATION,
        loginWithChap ? target + " refused the CHAP credentials"
          : target + " requires CHAP credentials (secrets chap.user and chap.secret)");
      case TARGET_ERROR, SERVICE_UNAVAILABLE, OUT_OF_RESOURCES -> new IscsiException(Reason.UNAVAILABLE,
        target + " cannot serve a session now (" + status + ")");
      default -> new IscsiException(Reason.PROTOCOL, target + " refused the login (" + status + ")");
    };
  }

  // ---------------------------------------------------------------- SCSI commands

  private void checkLunExists() throws IOException {
    ByteBuffer data = ByteBuffer.allocate(8 + 8 * 256);
    Task task = await(submit(Cdb.reportLuns(data.capacity()), 0L, data, false), false);
    if (task.status != SCSIStatus.GOOD) {
      return; // a target without REPORT LUNS: READ CAPACITY below tells whether the LUN exists
    }
    List<Integer> luns = Cdb.parseReportLuns(data.array(), task.transferred);
    reportedLuns = luns;
    if (!luns.contains(address.lun())) {
      throw new IscsiException(Reason.NOT_FOUND, "LUN " + address.lun() + " not found on iSCSI target "
        + address.iqn() + " at " + address.host() + ":" + address.port() + " (it has LUNs " + luns + ")");
    }
  }

  /**
   * Refuses a LUN that is not a disk, such as tgt's LUN 0 (its controller), in the user's terms and naming the
   * target's disks. A target without INQUIRY is left to READ CAPACITY.
   */
  private void checkLunIsADisk() throws IOException {
    Cdb.Inquiry inquiry = inquiry(address.lunField());
    if (inquiry == null || inquiry.isDisk()) {
      return;
    }
    String where = "LUN " + address.lun() + " of iSCSI target " + address.iqn() + " at " + address.host() + ":"
      + address.port();
    if (!inquiry.present()) {
      throw new IscsiException(Reason.NOT_FOUND, where + " has no device behind it");
    }
    List<Integer> disks = new java.util.ArrayList<>();
    for (int lun : reportedLuns.subList(0, Math.min(reportedLuns.size(), 64))) {
      Cdb.Inquiry other = lun == address.lun() ? null : inquiry(LunAddress.lunField(lun));
      if (other != null && other.isDisk()) {
        disks.add(lun);
      }
    }
    String use = disks.isEmpty() ? (reportedLuns.isEmpty() ? "use LUN 1 or another LUN of the target that is a disk"
        : "the target lists no disk among its LUNs " + reportedLuns)
      : disks.size() == 1 ? "use LUN " + disks.get(0) : "use one of its disk LUNs " + disks;
    throw new IscsiException(Reason.NOT_FOUND, where + " is " + inquiry.describe() + ", not a disk: " + use);
  }

  /** Standard INQUIRY of one LUN; null when the target does not answer it. */
  private Cdb.Inquiry inquiry(long lunField) throws IOException {
    ByteBuffer data = ByteBuffer.allocate(96);
    Task task = await(submit(Cdb.inquiry(data.capacity()), lunField, data, false), false);
    return task.status == SCSIStatus.GOOD ? Cdb.Inquiry.parse(data.array(), task.transferred) : null;
  }

  private void readCapacity() throws IOException {
    ByteBuffer data = ByteBuffer.allocate(8);
    await(submit(Cdb.readCapacity10(), address.lunField(), data, false), true);
    long lastLba = Integer.toUnsignedLong(data.getInt(0));
    blockSize = data.getInt(4);
    if (lastLba == 0xffffffffL) {
      ByteBuffer data16 = ByteBuffer.allocate(32);
      await(submit(Cdb.readCapacity16(32), address.lunField(), data16, false), true);
      lastLba = data16.getLong(0);
      blockSize = data16.getInt(8);
    }
    if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
      throw new IscsiException(Reason.PROTOCOL, "LUN " + address + " reports block size " + blockSize);
    }
    // READ CAPACITY returns the last LBA, so the LUN holds one block more.
    blockCount = lastLba + 1;
  }

  /** Reads {@code dst.remaining()} bytes (whole blocks) from {@code lba} into {@code dst}. */
  void read(long lba, ByteBuffer dst) throws IOException {
    io.lock();
    try {
      checkRange(lba, dst.remaining());
      await(submit(Cdb.read(lba, dst.remaining() / blockSize), address.lunField(), dst, false), true);
    } finally {
      io.unlock();
    }
  }

  /** Writes {@code src.remaining()} bytes (whole blocks) at {@code lba}. */
  void write(long lba, ByteBuffer src) throws IOException {
    io.lock();
    try {
      checkRange(lba, src.remaining());
      await(submit(Cdb.write(lba, src.remaining() / blockSize), address.lunField(), src, true), true);
      flush();
    } finally {
      io.unlock();
    }
  }

  /** Flushes the target's write cache (SYNCHRONIZE CACHE). */
  void synchronizeCache() throws IOException {
    io.lock();
    try {
      synchronizeCacheLocked();
    } finally {
      io.unlock();
    }
  }

  private void synchronizeCacheLocked() throws IOException {
    Task task = await(submit(Cdb.synchronizeCache10(), address.lunField(), ByteBuffer.allocate(0), false), false);
    if (task.status != SCSIStatus.GOOD) {
      Cdb.Sense sense = Cdb.Sense.parse(task.sense);
      // Unsupported: ILLEGAL REQUEST, or (jSCSI's target) sense data cut to 2 bytes.
      if (sense == null ? task.sense.length < 14 : sense.illegalRequest()) {
        LOG.debug("{} has no SYNCHRONIZE CACHE: it writes through", address);
        return;
      }
      throw scsiFailure(task);
    }
  }

  /**
   * Reads {@code length} bytes from byte {@code offset} with up to {@link Options#queueDepth()} READs in flight,
   * handing each piece of at most {@code pieceBytes} to {@code sink} in order. The sink may call
   * {@link #write} on this session.
   */
  void stream(long offset, long length, int pieceBytes, BlockSink sink) throws IOException {
    io.lock();
    try {
      streamLocked(offset, length, pieceBytes, sink);
    } finally {
      io.unlock();
    }
  }

  private void streamLocked(long offset, long length, int pieceBytes, BlockSink sink) throws IOException {
    if (pieceBytes <= 0 || pieceBytes % blockSize != 0) {
      throw new IllegalArgumentException("piece size " + pieceBytes + " is not a multiple of block size " + blockSize);
    }
    if (offset < 0 || length < 0 || offset % blockSize != 0 || length % blockSize != 0) {
      throw new IllegalArgumentException("offset and length must be non-negative multiples of block size "
        + blockSize);
    }
    checkRange(offset / blockSize, length);
    int depth = Math.max(1, options.queueDepth());
    // Each READ covers several pieces: istgt spends much of its CPU per command, so 1 MiB READs (libiscsi's
    // iscsi-perf size) move more bytes per target CPU second than one READ per 256 KiB piece.
    int readBytes = pieceBytes * Math.max(1, READ_BYTES / pieceBytes);
    ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    for (int i = 0; i < depth; i++) {
      free.add(ByteBuffer.allocate(readBytes));
    }
    ArrayDeque<Task> queue = new ArrayDeque<>();
    long next = offset;
    long end = offset + length;
    while (next < end || !queue.isEmpty()) {
      while (next < end && !free.isEmpty()) {
        int n = (int) Math.min(readBytes, end - next);
        ByteBuffer buffer = free.poll().clear().limit(n);
        Task task = submit(Cdb.read(next / blockSize, n / blockSize), address.lunField(), buffer, false);
        task.offset = next;
        queue.add(task);
        next += n;
      }
      flush();
      Task head = queue.poll();
      await(head, true);
      for (int at = 0; at < head.length; at += pieceBytes) {
        int n = Math.min(pieceBytes, head.length - at);
        // A slice: each piece starts at position 0, as sinks index pieces from their start.
        sink.accept(head.offset + at, head.buffer.slice(at, n));
      }
      free.add(head.buffer);
    }
  }

  private void checkRange(long lba, long bytes) {
    if (bytes % blockSize != 0) {
      throw new IllegalArgumentException(bytes + " bytes is not a multiple of block size " + blockSize);
    }
    // Compared by subtraction: lba + blocks could overflow.
    if (lba < 0 || bytes < 0 || bytes / blockSize > blockCount || lba > blockCount - bytes / blockSize) {
      throw new IllegalArgumentException("blocks " + lba + "+" + bytes / blockSize + " outside LUN of "
        + blockCount + " blocks");
    }
  }

  private static final class Task {
    final int tag;
    final boolean write;
    final ByteBuffer buffer;
    final int length;
    final long lun;
    final ByteBuffer cdb;
    int attempts = 1;
    long offset;
    /** Data-In bytes received (reads), or bytes asked for by R2Ts (writes); both arrive in order. */
    int transferred;
    /** The residual the target reported with the status: positive under, negative over, 0 none. */
    long residual;
    boolean done;
    SCSIStatus status;
    byte[] sense = new byte[0];

    Task(int tag, boolean write, ByteBuffer buffer, long lun, ByteBuffer cdb) {
      this.tag = tag;
      this.cdb = cdb;
      this.write = write;
      this.buffer = buffer;
      this.length = buffer.remaining();
      this.lun = lun;
    }
  }

  private Task submit(ByteBuffer cdb, long lunField, ByteBuffer buffer, boolean write) throws IOException {
    ensureUsable();
    // Respect the target's command window (MaxCmdSN).
    while (maxCommandSn - commandSn < 0) {
      flush();
      dispatchOne();
    }
    Task task = new Task(nextTag(), write, buffer.slice(), lunField, cdb);
    ProtocolDataUnit pdu = pdus.create(false, true, OperationCode.SCSI_COMMAND, NONE, NONE);
    SCSICommandParser cmd = (SCSICommandParser) pdu.getBasicHeaderSegment().getParser();
    cmd.setReadExpectedFlag(!write && task.length > 0);
    cmd.setWriteExpectedFlag(write);
    cmd.setTaskAttributes(SCSICommandParser.TaskAttributes.SIMPLE);
    cmd.setExpectedDataTransferLength(task.length);
    cmd.setCommandDescriptorBlock(cdb);
    cmd.setLogicalUnitNumber(lunField);
    cmd.setCommandSequenceNumber(commandSn++);
    cmd.setExpectedStatusSequenceNumber(expectedStatusSn);
    pdu.getBasicHeaderSegment().setInitiatorTaskTag(task.tag);
    inFlight.put(task.tag, task);
    send(pdu);
    return task;
  }

  private int nextTag() {
    int tag = nextTag++;
    if (nextTag == NO_TAG || nextTag == 0) {
      nextTag = 1;
    }
    return tag;
  }

  /**
   * Waits for the task; returns it, or the task that repeated it after a UNIT ATTENTION (a target reports one
   * after a restart or LUN change, once per session: the command itself was not run).
   */
  private Task await(Task task, boolean requireGood) throws IOException {
    while (true) {
      try {
        flush();
        while (!task.done) {
          dispatchOne();
        }
      } catch (SocketTimeoutException e) {
        throw fail(new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address + " did not answer within "
          + options.timeout().toSeconds() + " s", e));
      } catch (EOFException e) {
        throw fail(new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address + " closed the connection", e));
      } catch (IscsiException e) {
        throw fail(e);
      } catch (IOException e) {
        throw fail(new IscsiException(Reason.UNAVAILABLE, "connection to iSCSI target " + address + " failed: "
          + e.getMessage(), e));
      }
      Cdb.Sense sense = task.status == SCSIStatus.CHECK_CONDITION ? Cdb.Sense.parse(task.sense) : null;
      if (sense != null && sense.unitAttention() && task.attempts < 4) {
        Task again = submit(task.cdb, task.lun, task.buffer, task.write);
        again.offset = task.offset;
        again.attempts = task.attempts + 1;
        task = again;
        continue;
      }
      if (requireGood && task.status != SCSIStatus.GOOD) {
        throw scsiFailure(task);
      }
      if (requireGood) {
        checkComplete(task);
      }
      return task;
    }
  }

  /**
   * A data command reported GOOD must have moved exactly what it asked: a short READ would leave the reused
   * buffer's stale bytes to be stored as the LUN's content.
   */
  private void checkComplete(Task task) throws IscsiException {
    if (task.length == 0 || Cdb.lbaOf(task.cdb).isEmpty()
        || (task.transferred == task.length && task.residual == 0)) {
      return; // only READ and WRITE must move all: a shorter answer to an allocation length is normal
    }
    String what = (task.write ? "WRITE" : "READ") + Cdb.lbaOf(task.cdb).map(lba -> " at LBA " + lba).orElse("");
    String moved = task.write ? " asked for " + task.transferred : " returned " + task.transferred;
    String residual = task.residual == 0 ? "" : task.residual > 0 ? ", residual underflow " + task.residual
      : ", residual overflow " + -task.residual;
    throw fail(new IscsiException(Reason.PROTOCOL, "iSCSI target " + address.iqn() + " at " + address.host() + ":"
      + address.port() + moved + " of " + task.length + " bytes for the " + what + " on LUN " + address.lun()
      + " and reported GOOD" + residual + ": refusing the incomplete transfer"));
  }

  private IscsiException scsiFailure(Task task) {
    Cdb.Sense sense = Cdb.Sense.parse(task.sense);
    if (sense != null && sense.lunNotSupported()) {
      return new IscsiException(Reason.NOT_FOUND, "LUN " + address.lun() + " not found on iSCSI target "
        + address.iqn() + " at " + address.host() + ":" + address.port());
    }
    return new IscsiException(Reason.SCSI, "SCSI command on " + address + " failed with status " + task.status
      + (sense != null ? " (" + sense + ")"
        : task.sense.length > 0 ? " (sense data " + java.util.HexFormat.of().formatHex(task.sense) + ")" : ""));
  }

  /** Reads and handles one PDU from the target. */
  private void dispatchOne() throws IOException {
    Incoming pdu = receive();
    switch (pdu.opCode()) {
      case SCSI_DATA_IN -> onDataIn(pdu);
      case SCSI_RESPONSE -> onResponse(pdu);
      case R2T -> onReadyToTransfer(pdu);
      case NOP_IN -> onNopIn(pdu);
      case ASYNC_MESSAGE -> {
        byte[] data = readData(pdu);
        int event = header[36] & 0xff;
        if (event != 0) {
          throw new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address
            + " announced it is dropping the session (async event " + event + ")");
        }
        LOG.debug("SCSI asynchronous event from {} ({} bytes)", address, data.length);
      }
      case REJECT -> {
        readData(pdu);
        throw new IscsiException(Reason.PROTOCOL, "iSCSI target " + address + " rejected a PDU (reason 0x"
          + Integer.toHexString(header[2] & 0xff) + ")");
      }
      default -> {
        readData(pdu);
        throw new IscsiException(Reason.PROTOCOL, "unexpected " + pdu.opCode() + " from " + address);
      }
    }
  }

  private Task taskFor(Incoming pdu) throws IscsiException {
    Task task = inFlight.get(pdu.pdu().getBasicHeaderSegment().getInitiatorTaskTag());
    if (task == null) {
      throw new IscsiException(Reason.PROTOCOL, pdu.opCode() + " from " + address + " for an unknown task");
    }
    return task;
  }

  private void onDataIn(Incoming pdu) throws IOException {
    Task task = taskFor(pdu);
    DataInParser p = (DataInParser) pdu.pdu().getBasicHeaderSegment().getParser();
    int offset = p.getBufferOffset();
    int length = pdu.dataLength();
    // DataPDUInOrder=Yes: each Data-In continues where the last ended; computed in long, as offsets are 32-bit.
    long end = Integer.toUnsignedLong(offset) + length;
    if (task.write || Integer.toUnsignedLong(offset) != task.transferred || end > task.length) {
      throw new IscsiException(Reason.PROTOCOL, "Data-In from " + address + " at buffer offset "
        + Integer.toUnsignedLong(offset) + " with " + length + " bytes, where " + task.transferred + " of "
        + task.length + (task.write ? " bytes were being written" : " bytes were expected next")
        + Cdb.lbaOf(task.cdb).map(lba -> " (LBA " + lba + ")").orElse(""));
    }
    in.readFully(task.buffer.array(), task.buffer.arrayOffset() + offset, length);
    in.skipNBytes(pdu.padding());
    task.transferred = (int) end;
    if (p.isStatusFlag()) {
      expectedStatusSn = p.getStatusSequenceNumber() + 1;
      task.residual = residual(p.isResidualUnderflow(), p.isResidualOverflow(), p.getResidualCount());
      complete(task, p.getStatus());
    }
  }

  private void onResponse(Incoming pdu) throws IOException {
    Task task = taskFor(pdu);
    SCSIResponseParser p = (SCSIResponseParser) pdu.pdu().getBasicHeaderSegment().getParser();
    byte[] data = readData(pdu);
    expectedStatusSn = p.getStatusSequenceNumber() + 1;
    if (data.length > 2) {
      // Sense data follows a 2-byte length; jSCSI's target understates that length, so keep all of it.
      task.sense = java.util.Arrays.copyOfRange(data, 2, data.length);
    }
    task.residual = residual(p.isResidualUnderflow(), p.isResidualOverflow(), p.getResidualCount());
    if (p.getResponse() != SCSIResponseParser.ServiceResponse.COMMAND_COMPLETED_AT_TARGET) {
      complete(task, SCSIStatus.CHECK_CONDITION);
    } else {
      complete(task, p.getStatus());
    }
  }

  private static long residual(boolean underflow, boolean overflow, int count) {
    long n = Integer.toUnsignedLong(count);
    return underflow ? n : overflow ? -n : 0;
  }

  private void complete(Task task, SCSIStatus status) {
    task.status = status;
    task.done = true;
    inFlight.remove(task.tag);
  }

  private void onReadyToTransfer(Incoming pdu) throws IOException {
    readData(pdu);
    Task task = taskFor(pdu);
    Ready2TransferParser r2t = (Ready2TransferParser) pdu.pdu().getBasicHeaderSegment().getParser();
    int offset = r2t.getBufferOffset();
    int wanted = r2t.getDesiredDataTransferLength();
    // DataSequenceInOrder=Yes: each R2T asks for the next bytes; never more than MaxBurstLength, never none
    // (a zero-length R2T would get no final Data-Out, and the command would hang).
    long end = Integer.toUnsignedLong(offset) + Integer.toUnsignedLong(wanted);
    if (!task.write || Integer.toUnsignedLong(offset) != task.transferred || wanted <= 0
        || wanted > maxBurstLength || end > task.length) {
      throw new IscsiException(Reason.PROTOCOL, "R2T from " + address + " for " + Integer.toUnsignedLong(wanted)
        + " bytes at buffer offset " + Integer.toUnsignedLong(offset) + ", where " + task.transferred + " of "
        + task.length + (task.write ? " bytes were sent" : " bytes were being read") + " (MaxBurstLength "
        + maxBurstLength + ")");
    }
    task.transferred = (int) end;
    int sequence = 0;
    for (int sent = 0; sent < wanted; sequence++) {
      int n = Math.min(targetMaxRecvDataSegmentLength, wanted - sent);
      ProtocolDataUnit data = pdus.create(false, sent + n == wanted, OperationCode.SCSI_DATA_OUT, NONE, NONE);
      DataOutParser p = (DataOutParser) data.getBasicHeaderSegment().getParser();
      p.setTargetTransferTag(r2t.getTargetTransferTag());
      p.setDataSequenceNumber(sequence);
      p.setBufferOffset(offset + sent);
      p.setLogicalUnitNumber(task.lun);
      p.setExpectedStatusSequenceNumber(expectedStatusSn);
      data.getBasicHeaderSegment().setInitiatorTaskTag(task.tag);
      data.setDataSegment(task.buffer.duplicate().position(offset + sent).limit(offset + sent + n).slice());
      send(data);
      sent += n;
    }
    flush();
  }

  private void onNopIn(Incoming pdu) throws IOException {
    byte[] ping = readData(pdu);
    NOPInParser p = (NOPInParser) pdu.pdu().getBasicHeaderSegment().getParser();
    if (p.getTargetTransferTag() == NO_TAG) {
      return; // an answer to a ping of ours: we send none
    }
    // The target pings: answer with a NOP-Out echoing its tag (immediate; CmdSN not advanced).
    ProtocolDataUnit reply = pdus.create(true, true, OperationCode.NOP_OUT, NONE, NONE);
    org.jscsi.parser.nop.NOPOutParser r = (org.jscsi.parser.nop.NOPOutParser) reply.getBasicHeaderSegment().getParser();
    r.setLogicalUnitNumber(p.getLogicalUnitNumber());
    r.setCommandSequenceNumber(commandSn);
    r.setExpectedStatusSequenceNumber(expectedStatusSn);
    reply.getBasicHeaderSegment().setInitiatorTaskTag(NO_TAG);
    reply.setDataSegment(ByteBuffer.wrap(ping));
    ByteBuffer bytes = serialize(reply);
    bytes.putInt(20, p.getTargetTransferTag()); // jSCSI's NOPOutParser has no setter for the TTT
    out.write(bytes.array(), 0, bytes.limit());
    flush();
  }

  // ---------------------------------------------------------------- framing

  /** A received PDU whose header is parsed and whose data segment is still on the wire. */
  private record Incoming(ProtocolDataUnit pdu, int dataLength) {
    OperationCode opCode() {
      return pdu.getBasicHeaderSegment().getOpCode();
    }

    int padding() {
      return (4 - (dataLength & 3)) & 3;
    }
  }

  private Incoming receive() throws IOException {
    in.readFully(header);
    int ahsBytes = (header[4] & 0xff) * 4;
    if (ahsBytes > 0) {
      in.skipNBytes(ahsBytes); // no AHS matters for the commands we send
    }
    int dataLength = ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
    if (dataLength > maxIncomingData) {
      // What we declared bounds every buffer the target's data lands in.
      throw new IscsiException(Reason.PROTOCOL, "iSCSI target " + address + " sent a " + dataLength
        + "-byte data segment, more than the " + maxIncomingData + " bytes this initiator accepts");
    }
    if ((header[0] & 0x3f) == 0x23 && header[36] != 0) {
      // A failed login: jSCSI's parser refuses these answers (it checks StatSN), so read the status here.
      in.skipNBytes(dataLength + ((4 - (dataLength & 3)) & 3));
      throw loginFailure(LoginStatus.valueOf((short) (((header[36] & 0xff) << 8) | (header[37] & 0xff))));
    }
    ProtocolDataUnit pdu = pdus.create(NONE, NONE);
    try {
      // Only the header: data segments are read straight into their destination.
      header[4] = 0;
      header[5] = 0;
      header[6] = 0;
      header[7] = 0;
      pdu.deserialize(ByteBuffer.wrap(header));
    } catch (InternetSCSIException | java.security.DigestException | RuntimeException e) {
      // jSCSI's parser throws unchecked on what it does not know (an unknown opcode): still a malformed PDU.
      throw new IscsiException(Reason.PROTOCOL, "malformed PDU from " + address + ": " + e, e);
    }
    if (pdu.getBasicHeaderSegment().getParser() instanceof TargetMessageParser t) {
      int max = t.getMaximumCommandSequenceNumber();
      if (max - maxCommandSn > 0) {
        maxCommandSn = max;
      }
    }
    return new Incoming(pdu, dataLength);
  }

  private byte[] readData(Incoming pdu) throws IOException {
    byte[] data = new byte[pdu.dataLength()];
    in.readFully(data);
    in.skipNBytes(pdu.padding());
    return data;
  }

  private void skipData(Incoming pdu) throws IOException {
    in.skipNBytes(pdu.dataLength() + pdu.padding());
  }

  private void send(ProtocolDataUnit pdu) throws IOException {
    ByteBuffer bytes = serialize(pdu);
    try {
      out.write(bytes.array(), bytes.arrayOffset(), bytes.limit());
    } catch (IOException e) {
      throw lost(e);
    }
  }

  private void flush() throws IOException {
    try {
      out.flush();
    } catch (IOException e) {
      throw lost(e);
    }
  }

  private IscsiException lost(IOException e) {
    if (e instanceof SocketTimeoutException) {
      return fail(new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address + " stopped taking data ("
        + e.getMessage() + "): connection dropped", e));
    }
    return fail(new IscsiException(Reason.UNAVAILABLE, "connection to iSCSI target " + address + " failed: "
      + e.getMessage(), e));
  }

  private ByteBuffer serialize(ProtocolDataUnit pdu) throws IscsiException {
    try {
      return pdu.serialize();
    } catch (InternetSCSIException | IOException e) {
      throw new IscsiException(Reason.PROTOCOL, "cannot encode PDU: " + e.getMessage(), e);
    }
  }

  private void ensureUsable() throws IscsiException {
    if (broken != null) {
      throw new IscsiException(Reason.UNAVAILABLE, "session to " + address + " is broken: " + broken.getMessage(),
        broken);
    }
  }

  private IscsiException fail(IscsiException e) {
    if (e.reason() == Reason.UNAVAILABLE || e.reason() == Reason.PROTOCOL) {
      broken = e;
      try {
        socket.close();
      } catch (IOException ignored) {
        // already failing
      }
    }
    return e;
  }

  /**
   * Logs out politely when the session is healthy and idle, then closes the connection. While another thread is
   * inside a call (possibly stuck on a peer that stopped reading), the socket is closed at once: that call fails,
   * and close never waits on the stream it holds.
   */
  @Override
  public void close() {
    if (!io.tryLock()) {
      LOG.debug("closing {} while a call is in progress: dropping the connection", address);
      broken = new IscsiException(Reason.UNAVAILABLE, "session closed");
      closeSocket();
      return;
    }
    try {
      if (broken == null && !socket.isClosed()) {
        socket.setSoTimeout((int) LOGOUT_TIMEOUT.toMillis());
        deadlineOut.timeout(LOGOUT_TIMEOUT);
        ProtocolDataUnit pdu = pdus.create(true, true, OperationCode.LOGOUT_REQUEST, NONE, NONE);
        LogoutRequestParser p = (LogoutRequestParser) pdu.getBasicHeaderSegment().getParser();
        p.setReasonCode(LogoutRequestParser.LogoutReasonCode.CLOSE_SESSION);
        p.setCommandSequenceNumber(commandSn);
        p.setExpectedStatusSequenceNumber(expectedStatusSn);
        pdu.getBasicHeaderSegment().setInitiatorTaskTag(nextTag());
        send(pdu);
        out.flush();
        for (int i = 0; i < 16; i++) {
          Incoming answer = receive();
          skipData(answer);
          if (answer.opCode() == OperationCode.LOGOUT_RESPONSE) {
            break;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.debug("logout from {} failed: {}", address, e.toString());
    } finally {
      broken = broken != null ? broken : new IscsiException(Reason.UNAVAILABLE, "session closed");
      io.unlock();
      closeSocket();
    }
  }

  private void closeSocket() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public String toString() {
    return "IscsiSession[" + address + "]";
  }
}
