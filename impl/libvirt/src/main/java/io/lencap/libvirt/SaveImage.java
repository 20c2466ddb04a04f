package io.lencap.libvirt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.UnaryOperator;

/**
 * The header of QEMU's save images and external-snapshot memory files (libvirt's qemu_saveimage.c): a
 * 92-byte header, then the domain XML and a cookie inside a data area that libvirt pads with 64 KiB so
 * that the XML can be edited. Restoring a copy next to its original needs a new UUID, which libvirt's
 * own XML replacement refuses (the ABI check compares UUIDs); rewriting the XML in the file is how a
 * copy gets one.
 */
final class SaveImage {
  private static final byte[] MAGIC = "LibvirtQemudSave".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = 16 + 5 * 4 + 14 * 4;
  /**
   * The largest data area read: libvirt writes the domain XML and cookie plus 64 KiB of padding, far below
   * this. The header's length is read from the file, so it sizes nothing before it is checked against this
   * and against the file's own size.
   */
  static final int MAX_DATA = 16 << 20;

  private SaveImage() {}

  /** Replaces the domain XML stored in the image; the memory stream after the data area is untouched. */
  static void rewriteXml(Path image, UnaryOperator<String> rewrite) throws IOException {
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      writeFully(ch, rewrittenHead(ch, ch.size(), image.toString(), rewrite), 0);
      ch.force(true);
    }
  }

  /**
   * The image's header and data area with the XML rewritten, as many bytes as they take in the file: a copy of
   * the image that reads these bytes instead of the file's own first ones has the new XML.
   */
  static ByteBuffer rewrittenHead(Path image, UnaryOperator<String> rewrite) throws IOException {
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
      return rewrittenHead(ch, ch.size(), image.toString(), rewrite);
    }
  }

  /** Whether the file starts as a QEMU save image does. */
  static boolean isQemuImage(Path image) throws IOException {
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
      ByteBuffer magic = ByteBuffer.allocate(MAGIC.length);
      while (magic.hasRemaining() && ch.read(magic, magic.position()) > 0) {
        // reading the magic
      }
      return java.util.Arrays.equals(magic.array(), MAGIC);
    }
  }

  /**
   * The same, read from the current position of {@code ch} (a download stream from a remote pool): the header and
   * data area are consumed, and the returned bytes stand in for them. {@code size} is the whole image's, which
   * bounds the data area; {@code image} names it in errors.
   */
  static ByteBuffer rewrittenHead(ReadableByteChannel ch, long size, String image, UnaryOperator<String> rewrite)
      throws IOException {
    ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.nativeOrder());
    readFully(ch, header);
    header.flip();
    byte[] magic = new byte[MAGIC.length];
    header.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException(image + " is not a complete QEMU save image (magic "
          + new String(magic, StandardCharsets.US_ASCII) + ")");
    }
    int version = header.getInt();
    int dataLen = header.getInt();
    header.getInt(); // was_running
    header.getInt(); // compressed
    int cookieOffset = header.getInt();
    if (version < 1 || version > 2) {
      throw new IOException(image + ": unknown save image version " + version);
    }
    long fileSize = size;
    if (dataLen <= 0 || dataLen > MAX_DATA || dataLen > fileSize - HEADER) {
      throw new IOException(image + ": the header declares a data area of " + Integer.toUnsignedString(dataLen)
          + " bytes; a save image's is 1 to " + MAX_DATA + " bytes and within the file (" + fileSize + " bytes)");
    }
    if (version == 2 && (cookieOffset < 0 || cookieOffset >= dataLen)) {
      throw new IOException(image + ": the header puts the cookie at " + cookieOffset
          + ", outside the data area of " + dataLen + " bytes");
    }
    ByteBuffer data = ByteBuffer.allocate(dataLen);
    readFully(ch, data);
    byte[] d = data.array();
    int xmlEnd = indexOfZero(d, 0);
    String xml = new String(d, 0, xmlEnd, StandardCharsets.UTF_8);
    byte[] cookie = new byte[0];
    if (version == 2 && cookieOffset > 0) {
      cookie = java.util.Arrays.copyOfRange(d, cookieOffset, indexOfZero(d, cookieOffset));
    }
    byte[] newXml = rewrite.apply(xml).getBytes(StandardCharsets.UTF_8);
    int needed = newXml.length + 1 + (cookie.length == 0 ? 0 : cookie.length + 1);
    if (needed > dataLen) {
      throw new IOException(image + ": the rewritten domain XML (" + needed + " bytes) does not fit the "
          + dataLen + " bytes the image reserves");
    }
    ByteBuffer out = ByteBuffer.allocate(HEADER + dataLen).order(ByteOrder.nativeOrder());
    header.position(0).limit(HEADER);
    out.put(header);
    out.put(newXml).put((byte) 0);
    if (cookie.length > 0) {
      out.put(cookie).put((byte) 0);
      out.putInt(16 + 4 * 4, newXml.length + 1);
    } else if (version == 2) {
      out.putInt(16 + 4 * 4, 0); // no cookie: an offset kept from the old layout would point into the new XML
    }
    out.position(0).limit(HEADER + dataLen);
    return out;
  }

  private static int indexOfZero(byte[] b, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == 0) {
        return i;
      }
    }
    return b.length;
  }

  private static void readFully(ReadableByteChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b);
      if (n < 0) {
        throw new IOException("save image ends inside its header");
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    long p = pos;
    while (b.hasRemaining()) {
      p += ch.write(b, p);
    }
  }
}
