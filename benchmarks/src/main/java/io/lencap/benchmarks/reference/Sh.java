package io.lencap.benchmarks.reference;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command line to completion (wrapped in {@code timeout}), failing with its output when it fails. */
public final class Sh {
  private Sh() {}

  public static String run(String... command) throws IOException, InterruptedException {
    return run(600, command);
  }

  public static String run(int seconds, String... command) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("timeout", Integer.toString(seconds)));
    cmd.addAll(List.of(command));
    Path out = Files.createTempFile("lencap-bench-sh", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      if (!p.waitFor(seconds + 30L, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      String text = Files.readString(out, StandardCharsets.ISO_8859_1);
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + text.trim());
      }
      return text;
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
