package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against synthetic images laid out as libvirt's virQEMUSaveDataWrite writes them; QemuContractIT and
 * CounterGuestIT restore real ones. */
class SaveImageTest {
  @TempDir
  Path dir;

  static byte[] image(String xml, String cookie, int pad, byte[] stream) {
    byte[] x = xml.getBytes(StandardCharsets.UTF_8);
    byte[] c = cookie.getBytes(StandardCharsets.UTF_8);
    int dataLen = x.length + 1 + c.length + 1 + pad;
    ByteBuffer b = ByteBuffer.allocate(92 + dataLen + stream.length).order(ByteOrder.nativeOrder());
    b.put("LibvirtQemudSave".getBytes(StandardCharsets.US_ASCII)).putInt(2).putInt(dataLen).putInt(1).putInt(0)
        .putInt(x.length + 1);
    b.position(92);
    b.put(x).put((byte) 0).put(c).put((byte) 0);
    b.position(92 + dataLen);
    b.put(stream);
    return b.array();
  }

  @Test
  void rewritesTheXmlAndMovesTheCookieLeavingTheStream() throws IOException {
    byte[] stream = new byte[100_000];
    new Random(1).nextBytes(stream);
    Path p = dir.resolve("mem");
    Files.write(p, image("<domain><name>a</name></domain>", "<cookie/>", 65536, stream));
    SaveImage.rewriteXml(p, x -> x.replace("<name>a</name>", "<name>a-much-longer-name</name>"));
    byte[] out = Files.readAllBytes(p);
    ByteBuffer h = ByteBuffer.wrap(out).order(ByteOrder.nativeOrder());
    int dataLen = h.getInt(20);
    int cookieOffset = h.getInt(32);
    String xml = "<domain><name>a-much-longer-name</name></domain>";
    assertEquals(xml.length() + 1, cookieOffset);
    assertEquals(xml, new String(out, 92, xml.length(), StandardCharsets.UTF_8));
    assertEquals("<cookie/>", new String(out, 92 + cookieOffset, 9, StandardCharsets.UTF_8));
    assertArrayEquals(stream, Arrays.copyOfRange(out, 92 + dataLen, out.length));
  }

  @Test
  void refusesXmlLargerThanThePadding() throws IOException {
    Path p = dir.resolve("mem");
    Files.write(p, image("<domain/>", "<c/>", 10, new byte[10]));
    IOException e = assertThrows(IOException.class, () -> SaveImage.rewriteXml(p, x -> x + " ".repeat(100)));
    assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
  }

  @Test
  void refusesWhatIsNotASaveImage() throws IOException {
    Path p = dir.resolve("mem");
    byte[] partial = image("<domain/>", "<c/>", 10, new byte[10]);
    System.arraycopy("LibvirtQemudPart".getBytes(StandardCharsets.US_ASCII), 0, partial, 0, 16);
    Files.write(p, partial);
    assertThrows(IOException.class, () -> SaveImage.rewriteXml(p, x -> x));
  }

  @Test
  void refusesADataAreaLongerThanTheFileBeforeAllocatingIt() throws IOException {
    Path p = dir.resolve("mem");
    byte[] image = image("<domain/>", "<c/>", 10, new byte[10]);
    ByteBuffer.wrap(image).order(ByteOrder.nativeOrder()).putInt(20, Integer.MAX_VALUE);
    Files.write(p, image);
    long before = io.lencap.testing.Allocations.ofThisThread();
    IOException e = assertThrows(IOException.class, () -> SaveImage.rewrittenHead(p, x -> x));
    assertTrue(io.lencap.testing.Allocations.ofThisThread() - before < 16 << 20, "the declared length sized no buffer");
    assertTrue(e.getMessage().contains("declares a data area of 2147483647 bytes"), e.getMessage());
  }

  @Test
  void refusesACookieOutsideTheDataArea() throws IOException {
    Path p = dir.resolve("mem");
    byte[] image = image("<domain/>", "<c/>", 10, new byte[10]);
    ByteBuffer.wrap(image).order(ByteOrder.nativeOrder()).putInt(32, 1000);
    Files.write(p, image);
    IOException e = assertThrows(IOException.class, () -> SaveImage.rewrittenHead(p, x -> x));
    assertTrue(e.getMessage().contains("puts the cookie at 1000"), e.getMessage());
  }

  @Test
  void anEmptyCookieLeavesNoOffsetIntoTheRewrittenXml() throws IOException {
    Path p = dir.resolve("mem");
    Files.write(p, image("<domain><name>a</name></domain>", "", 64, new byte[10]));
    SaveImage.rewriteXml(p, x -> x.replace("<name>a</name>", "<name>a-longer-name</name>"));
    assertEquals(0, ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.nativeOrder()).getInt(32),
        "the cookie offset of an image without a cookie");
    String[] again = new String[1];
    SaveImage.rewrittenHead(p, x -> again[0] = x);
    assertEquals("<domain><name>a-longer-name</name></domain>", again[0]);
  }
}
