package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lencap.testing.Allocations;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target: a save image's header and data area, as {@link SaveImage} reads them before a restore rewrites the
 * domain XML. The image comes from the store or from a file libvirt wrote: its lengths are untrusted.
 *
 * <p>Contract: reading either fails with an {@link IOException} or returns the header and a data area of exactly
 * the declared length, no larger than the file, holding the rewritten XML, which reads back as written. Memory is
 * bounded by the file, not by what the header declares. Any other exception is a finding.
 *
 * <p>Without {@code JAZZER_FUZZ=1} this runs the inputs under {@code src/test/resources/io/lencap/libvirt/
 * SaveImageFuzzTestInputs/headers/}; {@code scripts/fuzz.sh} fuzzes it.
 */
class SaveImageFuzzTest {
  private static final int HEADER = 92;
  private static final long ALLOCATION_SLACK = 4 << 20;
  private static Path dir;

  @BeforeAll
  static void createDirectory() throws IOException {
    dir = Files.createTempDirectory("save-image-fuzz");
  }

  @AfterAll
  static void deleteDirectory() throws IOException {
    for (Path p : Files.list(dir).toList()) {
      Files.delete(p);
    }
    Files.delete(dir);
  }

  @FuzzTest(maxDuration = "10m")
  void headers(byte[] image) throws IOException {
    Path file = dir.resolve("image");
    Files.write(file, image);
    AtomicReference<String> seen = new AtomicReference<>();
    long before = Allocations.ofThisThread();
    ByteBuffer head;
    try {
      head = SaveImage.rewrittenHead(file, xml -> {
        seen.set(xml);
        return xml.replace("<name>", "<name>copy-");
      });
    } catch (IOException refused) {
      assertBounded(before, file);
      return;
    }
    assertBounded(before, file);

    ByteBuffer in = ByteBuffer.wrap(image).order(ByteOrder.nativeOrder());
    int dataLen = in.getInt(20);
    assertTrue(dataLen > 0 && dataLen <= image.length - HEADER, "data area of " + dataLen + " bytes accepted in an image of "
        + image.length);
    assertEquals(HEADER + dataLen, head.remaining(), "header and data area, as long as they are in the file");
    byte[] out = new byte[head.remaining()];
    head.duplicate().get(out);
    for (int i = 0; i < HEADER; i++) {
      if (i < 32 || i >= 36) { // only the cookie offset may change
        assertEquals(image[i], out[i], "header byte " + i);
      }
    }
    byte[] newXml = seen.get().replace("<name>", "<name>copy-").getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(newXml, Arrays.copyOfRange(out, HEADER, HEADER + newXml.length));
    assertEquals(0, out[HEADER + newXml.length], "the XML ends with NUL");

    // What was written reads back: the same XML, within the same data area.
    Path copy = dir.resolve("copy");
    Files.write(copy, out);
    AtomicReference<String> again = new AtomicReference<>();
    ByteBuffer reread = SaveImage.rewrittenHead(copy, xml -> {
      again.set(xml);
      return xml;
    });
    assertEquals(new String(newXml, StandardCharsets.UTF_8), again.get());
    assertEquals(out.length, reread.remaining());
  }

  /**
   * Fails when reading the image took more memory than its size warrants. The first run of a path also loads (and
   * instruments) classes on this thread: only an input that allocates too much twice is a finding.
   */
  private static void assertBounded(long before, Path file) throws IOException {
    long allocated = Allocations.ofThisThread() - before;
    long bound = ALLOCATION_SLACK + 8L * Files.size(file);
    if (allocated > bound) {
      long again = Allocations.ofThisThread();
      try {
        SaveImage.rewrittenHead(file, xml -> xml);
      } catch (IOException refused) {
        // as the first time
      }
      if (Allocations.ofThisThread() - again > bound) {
        fail("reading a " + Files.size(file) + "-byte image allocated " + allocated + " bytes");
      }
    }
  }
}
