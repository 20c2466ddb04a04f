package io.lencap.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tree demo end to end through the real engine and local store, as the README runs it. */
class TreeDemoIT {
  @TempDir
  Path dir;

  @Test
  void capturesChangesAndRestoresExactly() throws Exception {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    List<String> problems = TreeDemo.run(dir, new PrintStream(buffer, true, StandardCharsets.UTF_8));
    String out = buffer.toString(StandardCharsets.UTF_8);
    assertEquals(List.of(), problems, out);
    assertTrue(out.contains("full") && out.contains("incremental") && out.contains("pre-copy+final-pass"), out);
    assertEquals(2, out.lines().filter(l -> l.contains("identical (walked and hashed)")).count(), out);
    assertTrue(Files.notExists(dir.resolve("tree/.lencap-quiesced")), "the quiesce marker was left behind");

    // A second run reuses its own directory.
    assertEquals(List.of(), TreeDemo.run(dir, quiet()));
  }

  @Test
  void refusesToWipeADirectoryItDidNotCreate() throws Exception {
    Files.writeString(dir.resolve("precious.txt"), "mine");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TreeDemo.run(dir, quiet()));
    assertTrue(e.getMessage().contains("not created by this demo"), e.getMessage());
    assertEquals("mine", Files.readString(dir.resolve("precious.txt")));
  }

  private static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
  }
}
