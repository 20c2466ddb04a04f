package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.jscsi.parser.OperationCode;
import org.jscsi.parser.ProtocolDataUnit;
import org.jscsi.parser.TargetMessageParser;
import org.jscsi.parser.data.DataInParser;
import org.jscsi.parser.data.DataOutParser;
import org.jscsi.parser.logout.LogoutRequestParser;
import org.jscsi.parser.nop.NOPInParser;
import org.jscsi.parser.nop.NOPOutParser;
import org.jscsi.parser.r2t.Ready2TransferParser;
import org.jscsi.parser.scsi.SCSICommandParser;
import org.jscsi.parser.scsi.SCSIResponseParser;
import org.jscsi.parser.scsi.SCSIStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The full feature phase's bookkeeping (RFC 7143 sections 4.2.2 and 11): task tags, CmdSN within the target's
 * window (MaxCmdSN), StatSN, and the PDUs that answer commands in flight. Data-In must continue exactly where the
 * last ended and stay within what the command asked; an R2T must ask for the next bytes, at most MaxBurstLength;
 * the target's NOP-In pings are answered. Anything else the target sends fails the session.
 *
 * <p>Not thread-safe: {@link IscsiSession} serialises its calls.
 */
final class CommandWindow {

  private static final Logger LOG = LoggerFactory.getLogger(CommandWindow.class);
  /** The reserved tag: "no task" in NOP-In and NOP-Out. */
  static final int NO_TAG = 0xffffffff;
  /** How often a command is sent in all when the target answers UNIT ATTENTION. */
  private static final int ATTEMPTS = 4;
  /** How many PDUs the logout waits through for its answer. */
  private static final int LOGOUT_PDUS = 16;

  private final PduChannel channel;
  private final LunAddress address;
  private final Duration timeout;
  private final int targetMaxRecvDataSegmentLength;
  private final int maxBurstLength;
  private final Map<Integer, ScsiTask> inFlight = new HashMap<>();
  private int commandSn;
  private int maxCommandSn;
  private int expectedStatusSn;
  private int nextTag = 1;

  /** Goes on from where the login left the sequence numbers; {@code timeout} is only named in messages. */
  CommandWindow(PduChannel channel, LoginNegotiation.Result login, Duration timeout) {
    this.channel = channel;
    this.address = channel.address();
    this.timeout = timeout;
    this.targetMaxRecvDataSegmentLength = login.targetMaxRecvDataSegmentLength();
    this.maxBurstLength = login.maxBurstLength();
    this.commandSn = login.commandSn();
    this.maxCommandSn = login.maxCommandSn();
    this.expectedStatusSn = login.expectedStatusSn();
  }

  /**
   * Sends a SCSI command (buffered: {@link #await} flushes), waiting first while the target's window is full.
   * The command reads into, or writes from, {@code buffer}'s remaining bytes.
   */
  ScsiTask submit(ByteBuffer cdb, long lunField, ByteBuffer buffer, boolean write) throws IOException {
    channel.ensureUsable();
    if (!windowOpen(commandSn, maxCommandSn)) {
      receiveUntil(() -> windowOpen(commandSn, maxCommandSn));
    }
    ScsiTask task = new ScsiTask(nextTag(), write, buffer.slice(), lunField, cdb);
    ProtocolDataUnit pdu = channel.create(false, true, OperationCode.SCSI_COMMAND);
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
    channel.send(pdu);
    return task;
  }

  /**
   * Whether the target's window takes command {@code commandSn}: CmdSN and MaxCmdSN are compared in serial number
   * arithmetic (RFC 1982), so the window works across the wrap at 2^32.
   */
  static boolean windowOpen(int commandSn, int maxCommandSn) {
    return maxCommandSn - commandSn >= 0;
  }

  private int nextTag() {
    int tag = nextTag;
    nextTag = tagAfter(tag);
    return tag;
  }

  /** The tag after {@code tag}: never 0 (the login's) nor {@link #NO_TAG}, wrapping after 2^32 - 2 tags. */
  static int tagAfter(int tag) {
    int next = tag + 1;
    return next == NO_TAG || next == 0 ? 1 : next;
  }

  /**
   * Waits until the task completes; returns it, or the task that repeated it after a UNIT ATTENTION (a target
   * reports one after a restart or LUN change, once per session: the command itself was not run). Its status may
   * be anything: the caller judges it.
   *
   * @throws IscsiException UNAVAILABLE when the target went silent or away, PROTOCOL when it broke the protocol;
   *     either breaks the session
   */
  ScsiTask await(ScsiTask task) throws IOException {
    while (true) {
      ScsiTask waited = task;
      receiveUntil(() -> waited.done);
      Cdb.Sense sense = task.status == SCSIStatus.CHECK_CONDITION ? Cdb.Sense.parse(task.sense) : null;
      if (sense == null || !sense.unitAttention() || task.attempts >= ATTEMPTS) {
        return task;
      }
      ScsiTask again = submit(task.cdb, task.lun, task.buffer, task.write);
      again.offset = task.offset;
      again.attempts = task.attempts + 1;
      task = again;
    }
  }

  /**
   * Sends what is buffered, then handles the target's PDUs until {@code done} holds.
   *
   * @throws IscsiException UNAVAILABLE when the target went silent or away, PROTOCOL when it broke the protocol;
   *     either breaks the session
   */
  private void receiveUntil(BooleanSupplier done) throws IscsiException {
    try {
      channel.flush();
      while (!done.getAsBoolean()) {
        dispatchOne();
      }
    } catch (SocketTimeoutException e) {
      throw channel.fail(new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address
        + " did not answer within " + timeout.toSeconds() + " s", e));
    } catch (EOFException e) {
      throw channel.fail(new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address
        + " closed the connection", e));
    } catch (IscsiException e) {
      throw channel.fail(e);
    } catch (IOException e) {
      throw channel.fail(new IscsiException(Reason.UNAVAILABLE, "connection to iSCSI target " + address
        + " failed: " + e.getMessage(), e));
    }
  }

  /** Reads and handles one PDU from the target. */
  private void dispatchOne() throws IOException {
    PduChannel.Incoming pdu = channel.receive();
    if (pdu.pdu().getBasicHeaderSegment().getParser() instanceof TargetMessageParser t) {
      int max = t.getMaximumCommandSequenceNumber();
      if (max - maxCommandSn > 0) {
        maxCommandSn = max; // only ever raised, in serial number arithmetic
      }
    }
    switch (pdu.opCode()) {
      case SCSI_DATA_IN -> onDataIn(pdu);
      case SCSI_RESPONSE -> onResponse(pdu);
      case R2T -> onReadyToTransfer(pdu);
      case NOP_IN -> onNopIn(pdu);
      case ASYNC_MESSAGE -> {
        byte[] data = channel.readData(pdu);
        int event = pdu.headerByte(36);
        if (event != 0) {
          throw new IscsiException(Reason.UNAVAILABLE, "iSCSI target " + address
            + " announced it is dropping the session (async event " + event + ")");
        }
        LOG.debug("SCSI asynchronous event from {} ({} bytes)", address, data.length);
      }
      case REJECT -> {
        channel.readData(pdu);
        throw new IscsiException(Reason.PROTOCOL, "iSCSI target " + address + " rejected a PDU (reason 0x"
          + Integer.toHexString(pdu.headerByte(2)) + ")");
      }
      default -> {
        channel.readData(pdu);
        throw new IscsiException(Reason.PROTOCOL, "unexpected " + pdu.opCode() + " from " + address);
      }
    }
  }

  private ScsiTask taskFor(PduChannel.Incoming pdu) throws IscsiException {
    ScsiTask task = inFlight.get(pdu.pdu().getBasicHeaderSegment().getInitiatorTaskTag());
    if (task == null) {
      throw new IscsiException(Reason.PROTOCOL, pdu.opCode() + " from " + address + " for an unknown task");
    }
    return task;
  }

  private void onDataIn(PduChannel.Incoming pdu) throws IOException {
    ScsiTask task = taskFor(pdu);
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
    channel.readDataInto(pdu, task.buffer.array(), task.buffer.arrayOffset() + offset);
    task.transferred = (int) end;
    if (p.isStatusFlag()) {
      expectedStatusSn = p.getStatusSequenceNumber() + 1;
      task.residual = residual(p.isResidualUnderflow(), p.isResidualOverflow(), p.getResidualCount());
      complete(task, p.getStatus());
    }
  }

  private void onResponse(PduChannel.Incoming pdu) throws IOException {
    ScsiTask task = taskFor(pdu);
    SCSIResponseParser p = (SCSIResponseParser) pdu.pdu().getBasicHeaderSegment().getParser();
    byte[] data = channel.readData(pdu);
    expectedStatusSn = p.getStatusSequenceNumber() + 1;
    if (data.length > 2) {
      // Sense data follows a 2-byte length; jSCSI's target understates that length, so keep all of it.
      task.sense = Arrays.copyOfRange(data, 2, data.length);
    }
    task.residual = residual(p.isResidualUnderflow(), p.isResidualOverflow(), p.getResidualCount());
    if (p.getResponse() != SCSIResponseParser.ServiceResponse.COMMAND_COMPLETED_AT_TARGET) {
      complete(task, SCSIStatus.CHECK_CONDITION);
    } else {
      complete(task, p.getStatus());
    }
  }

  /** The residual as a signed count: positive under, negative over (the count is an unsigned 32-bit value). */
  static long residual(boolean underflow, boolean overflow, int count) {
    long n = Integer.toUnsignedLong(count);
    return underflow ? n : overflow ? -n : 0;
  }

  private void complete(ScsiTask task, SCSIStatus status) {
    task.status = status;
    task.done = true;
    inFlight.remove(task.tag);
  }

  private void onReadyToTransfer(PduChannel.Incoming pdu) throws IOException {
    channel.readData(pdu);
    ScsiTask task = taskFor(pdu);
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
      ProtocolDataUnit data = channel.create(false, sent + n == wanted, OperationCode.SCSI_DATA_OUT);
      DataOutParser p = (DataOutParser) data.getBasicHeaderSegment().getParser();
      p.setTargetTransferTag(r2t.getTargetTransferTag());
      p.setDataSequenceNumber(sequence);
      p.setBufferOffset(offset + sent);
      p.setLogicalUnitNumber(task.lun);
      p.setExpectedStatusSequenceNumber(expectedStatusSn);
      data.getBasicHeaderSegment().setInitiatorTaskTag(task.tag);
      data.setDataSegment(task.buffer.duplicate().position(offset + sent).limit(offset + sent + n).slice());
      channel.send(data);
      sent += n;
    }
    channel.flush();
  }

  private void onNopIn(PduChannel.Incoming pdu) throws IOException {
    byte[] ping = channel.readData(pdu);
    NOPInParser p = (NOPInParser) pdu.pdu().getBasicHeaderSegment().getParser();
    if (p.getTargetTransferTag() == NO_TAG) {
      return; // an answer to a ping of ours: we send none
    }
    // The target pings: answer with a NOP-Out echoing its tag (immediate; CmdSN not advanced).
    ProtocolDataUnit reply = channel.create(true, true, OperationCode.NOP_OUT);
    NOPOutParser r = (NOPOutParser) reply.getBasicHeaderSegment().getParser();
    r.setLogicalUnitNumber(p.getLogicalUnitNumber());
    r.setCommandSequenceNumber(commandSn);
    r.setExpectedStatusSequenceNumber(expectedStatusSn);
    reply.getBasicHeaderSegment().setInitiatorTaskTag(NO_TAG);
    reply.setDataSegment(ByteBuffer.wrap(ping));
    ByteBuffer bytes = channel.serialize(reply);
    bytes.putInt(20, p.getTargetTransferTag()); // jSCSI's NOPOutParser has no setter for the TTT
    channel.send(bytes);
    channel.flush();
  }

  /**
   * Asks the target to close the session and reads what it sends until its answer, at most {@value #LOGOUT_PDUS}
   * PDUs (answers to commands still in flight are dropped).
   */
  void logout() throws IOException {
    ProtocolDataUnit pdu = channel.create(true, true, OperationCode.LOGOUT_REQUEST);
    LogoutRequestParser p = (LogoutRequestParser) pdu.getBasicHeaderSegment().getParser();
    p.setReasonCode(LogoutRequestParser.LogoutReasonCode.CLOSE_SESSION);
    p.setCommandSequenceNumber(commandSn);
    p.setExpectedStatusSequenceNumber(expectedStatusSn);
    pdu.getBasicHeaderSegment().setInitiatorTaskTag(nextTag());
    channel.send(pdu);
    channel.flush();
    for (int i = 0; i < LOGOUT_PDUS; i++) {
      PduChannel.Incoming answer = channel.receive();
      channel.skipData(answer);
      if (answer.opCode() == OperationCode.LOGOUT_RESPONSE) {
        return;
      }
    }
  }
}
