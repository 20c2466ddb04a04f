package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.jscsi.exception.InternetSCSIException;
import org.jscsi.parser.OperationCode;
import org.jscsi.parser.ProtocolDataUnit;
import org.jscsi.parser.ProtocolDataUnitFactory;
import org.jscsi.parser.login.LoginStatus;

/**
 * The PDU layer of one connection: frames PDUs with jSCSI's codec, bounds every data segment by what this
 * initiator declared, and limits every read (socket timeout) and write ({@link DeadlineOutputStream}) in time.
 * Data segments stay on the wire until the caller reads them, so that Data-In lands straight in its buffer.
 *
 * <p>A connection that timed out or carried something unreadable is broken for good ({@link #fail}): its socket is
 * closed, and every later command fails naming the first cause.
 */
final class PduChannel {

  /** RFC 7143: login PDUs carry at most 8192 data bytes until MaxRecvDataSegmentLength is negotiated. */
  static final int LOGIN_DATA_BYTES = 8192;
  private static final int BUFFER_BYTES = 64 * 1024;
  private static final String NONE = "None";

  /** A received PDU whose header is parsed and whose data segment is still on the wire. */
  record Incoming(ProtocolDataUnit pdu, int dataLength, byte[] header) {
    OperationCode opCode() {
      return pdu.getBasicHeaderSegment().getOpCode();
    }

    int padding() {
      return (4 - (dataLength & 3)) & 3;
    }

    /** A byte of the basic header segment that jSCSI's parsers do not expose. */
    int headerByte(int index) {
      return header[index] & 0xff;
    }
  }

  private final Socket socket;
  private final LunAddress address;
  private final LoginRefusal loginRefusal;
  private final DataInputStream in;
  private final DeadlineOutputStream deadlineOut;
  private final OutputStream out;
  private final ProtocolDataUnitFactory pdus = new ProtocolDataUnitFactory();
  private final byte[] header = new byte[48]; // basic header segment
  /** The largest data segment we accept from the target: 8192 during login, then what we declared. */
  private int maxIncomingData = LOGIN_DATA_BYTES;
  private volatile IOException broken;

  PduChannel(Socket socket, LunAddress address, Duration timeout, LoginRefusal loginRefusal) throws IOException {
    this.socket = socket;
    this.address = address;
    this.loginRefusal = loginRefusal;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), BUFFER_BYTES));
    this.deadlineOut = new DeadlineOutputStream(socket, timeout);
    this.out = new BufferedOutputStream(deadlineOut, BUFFER_BYTES);
  }

  LunAddress address() {
    return address;
  }

  /** A new PDU to fill in and {@link #send}. */
  ProtocolDataUnit create(boolean immediate, boolean finalFlag, OperationCode opCode) {
    return pdus.create(immediate, finalFlag, opCode, NONE, NONE);
  }

  /** From now on, data segments up to {@code bytes} (what the login declared) are accepted. */
  void acceptDataSegmentsUpTo(int bytes) {
    maxIncomingData = bytes;
  }

  /** Limits the socket's reads and writes from now on (a short one for the logout on close). */
  void timeout(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    deadlineOut.timeout(timeout);
  }

  /**
   * Reads the next PDU's header; its data segment is left for {@link #readData}, {@link #readDataInto} or
   * {@link #skipData}.
   *
   * @throws IscsiException (PROTOCOL) for a data segment over the bound or a header jSCSI cannot parse; a refused
   *     login as {@link LoginRefusal} classifies its status
   */
  Incoming receive() throws IOException {
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
      throw loginRefusal.of(LoginStatus.valueOf((short) (((header[36] & 0xff) << 8) | (header[37] & 0xff))));
    }
    byte[] received = header.clone();
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
    return new Incoming(pdu, dataLength, received);
  }

  /** The PDU's data segment, in a new array of its length (bounded by {@link #receive}). */
  byte[] readData(Incoming pdu) throws IOException {
    byte[] data = new byte[pdu.dataLength()];
    in.readFully(data);
    in.skipNBytes(pdu.padding());
    return data;
  }

  /** Reads the PDU's data segment into {@code dst} at {@code offset}; the caller checked that it fits. */
  void readDataInto(Incoming pdu, byte[] dst, int offset) throws IOException {
    in.readFully(dst, offset, pdu.dataLength());
    in.skipNBytes(pdu.padding());
  }

  void skipData(Incoming pdu) throws IOException {
    in.skipNBytes(pdu.dataLength() + pdu.padding());
  }

  /** Buffers the PDU for sending; a write that fails or times out breaks the connection. */
  void send(ProtocolDataUnit pdu) throws IOException {
    send(serialize(pdu));
  }

  /** Buffers already serialised bytes (from position 0 to the limit), for a PDU jSCSI cannot fill in whole. */
  void send(ByteBuffer bytes) throws IOException {
    try {
      out.write(bytes.array(), bytes.arrayOffset(), bytes.limit());
    } catch (IOException e) {
      throw lost(e);
    }
  }

  void flush() throws IOException {
    try {
      out.flush();
    } catch (IOException e) {
      throw lost(e);
    }
  }

  ByteBuffer serialize(ProtocolDataUnit pdu) throws IscsiException {
    try {
      return pdu.serialize();
    } catch (InternetSCSIException | IOException e) {
      throw new IscsiException(Reason.PROTOCOL, "cannot encode PDU: " + e.getMessage(), e);
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

  /** Fails when an earlier failure broke the connection, naming it. */
  void ensureUsable() throws IscsiException {
    IOException cause = broken;
    if (cause != null) {
      throw new IscsiException(Reason.UNAVAILABLE, "session to " + address + " is broken: " + cause.getMessage(),
        cause);
    }
  }

  boolean usable() {
    return broken == null && !socket.isClosed();
  }

  /**
   * Returns {@code e}; when the connection cannot go on after it (it broke, or the target broke the protocol, so
   * the stream may be out of step), marks it broken and closes the socket.
   */
  IscsiException fail(IscsiException e) {
    if (e.reason() == Reason.UNAVAILABLE || e.reason() == Reason.PROTOCOL) {
      broken = e;
      close();
    }
    return e;
  }

  /** Closes the socket at once (a call blocked on it fails); later calls fail as the session was closed. */
  void drop() {
    if (broken == null) {
      broken = new IscsiException(Reason.UNAVAILABLE, "session closed");
    }
    close();
  }

  private void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
