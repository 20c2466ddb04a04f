package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.jscsi.parser.OperationCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The PDU layer against bytes written by hand on a loopback connection: framing, bounds and a broken channel. */
class PduChannelTest {

  static final LunAddress ADDRESS = new LunAddress("127.0.0.1", 3260, "iqn.2024-01.io.lencap.test:channel", 0);

  ServerSocket server;
  Socket initiator;
  Socket target;
  PduChannel channel;

  @BeforeEach
  void connect() throws IOException {
    server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    initiator = new Socket();
    initiator.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
    initiator.setSoTimeout(5_000);
    target = server.accept();
    channel = new PduChannel(initiator, ADDRESS, Duration.ofSeconds(5), new LoginRefusal(ADDRESS, false));
  }

  @AfterEach
  void close() throws IOException {
    initiator.close();
    target.close();
    server.close();
  }

  /** A basic header segment with the opcode, flags and data segment length; the rest zero. */
  static byte[] header(int opcode, int flags, int dataLength) {
    byte[] h = new byte[48];
    h[0] = (byte) opcode;
    h[1] = (byte) flags;
    h[5] = (byte) (dataLength >> 16);
    h[6] = (byte) (dataLength >> 8);
    h[7] = (byte) dataLength;
    return h;
  }

  void targetSends(byte[]... parts) throws IOException {
    OutputStream out = target.getOutputStream();
    for (byte[] part : parts) {
      out.write(part);
    }
    out.flush();
  }

  @Test
  void aDataSegmentIsReadWithoutItsPaddingAndTheNextPduFollows() throws IOException {
    byte[] nopIn = header(0x20, 0x80, 5);
    ByteBuffer.wrap(nopIn).putInt(16, 0xffffffff).putInt(20, 0xffffffff);
    targetSends(nopIn, new byte[] {1, 2, 3, 4, 5, 0, 0, 0}, nopIn, new byte[] {6, 7, 8, 9, 10, 0, 0, 0});
    PduChannel.Incoming first = channel.receive();
    assertEquals(OperationCode.NOP_IN, first.opCode());
    assertEquals(3, first.padding());
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, channel.readData(first));
    PduChannel.Incoming second = channel.receive();
    byte[] into = new byte[8];
    channel.readDataInto(second, into, 2);
    assertArrayEquals(new byte[] {0, 0, 6, 7, 8, 9, 10, 0}, into);
  }

  @Test
  void duringLoginADataSegmentOverTheRfcsLoginBoundIsRefusedBeforeItIsRead() throws IOException {
    targetSends(header(0x23, 0x80, PduChannel.LOGIN_DATA_BYTES + 1));
    IscsiException e = assertThrows(IscsiException.class, channel::receive);
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains("8193-byte data segment") && e.getMessage().contains(ADDRESS.iqn()),
      e.getMessage());
  }

  @Test
  void afterLoginTheBoundIsWhatTheInitiatorDeclared() throws IOException {
    channel.acceptDataSegmentsUpTo(65536);
    targetSends(header(0x20, 0x80, 65537));
    IscsiException e = assertThrows(IscsiException.class, channel::receive);
    assertTrue(e.getMessage().contains("more than the 65536 bytes"), e.getMessage());
  }

  @Test
  void aRefusedLoginIsClassifiedByItsStatus() throws IOException {
    byte[] refused = header(0x23, 0x00, 0);
    refused[36] = 0x02; // initiator error class
    refused[37] = 0x03; // not found
    targetSends(refused);
    IscsiException e = assertThrows(IscsiException.class, channel::receive);
    assertEquals(Reason.NOT_FOUND, e.reason());
  }

  @Test
  void aHeaderTheCodecCannotParseIsAProtocolErrorNamingTheTarget() throws IOException {
    targetSends(header(0x3e, 0x80, 0)); // no such opcode (0x3f is Reject)
    IscsiException e = assertThrows(IscsiException.class, channel::receive);
    assertEquals(Reason.PROTOCOL, e.reason());
    assertTrue(e.getMessage().contains("malformed PDU from " + ADDRESS), e.getMessage());
  }

  @Test
  void aFailureThatBreaksTheChannelClosesItAndIsNamedByLaterCalls() throws IOException {
    assertTrue(channel.usable());
    channel.fail(new IscsiException(Reason.SCSI, "a failed command leaves the channel usable"));
    assertTrue(channel.usable());
    channel.fail(new IscsiException(Reason.PROTOCOL, "target lied"));
    assertFalse(channel.usable());
    assertTrue(initiator.isClosed());
    IscsiException e = assertThrows(IscsiException.class, channel::ensureUsable);
    assertEquals(Reason.UNAVAILABLE, e.reason());
    assertTrue(e.getMessage().contains("is broken: target lied"), e.getMessage());
  }
}
