package io.lencap.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What the crash tests share: a child JVM to kill at a printed line, and counting the store's objects. */
final class ChildProcesses {
  private ChildProcesses() {}

  /** A JVM on this test's class path running {@code main}'s class with the arguments. */
  static Process start(Class<?> main, Path stderr, String... args) throws IOException {
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), main.getName()));
    command.addAll(java.util.List.of(args));
    return new ProcessBuilder(command).redirectError(stderr.toFile()).start();
  }

  /** Reads the child's output until it prints {@code wanted} alone on a line. */
  static void awaitLine(Process p, String wanted) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.equals(wanted)) {
          return;
        }
      }
      throw new AssertionError("the child ended before printing " + wanted);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Regular files below a directory (0 when it does not exist). */
  static long count(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).count();
    }
  }
}
