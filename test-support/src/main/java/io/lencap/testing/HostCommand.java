package io.lencap.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a command on the host for a fixture (virsh, qemu-img, mount) and fails with what it printed. */
public final class HostCommand {
  private static final Duration DEFAULT_LIMIT = Duration.ofSeconds(60);

  private HostCommand() {}

  /** Runs the command, allowing it 60 s; returns its output (stdout and stderr). */
  public static String run(String... command) throws IOException, InterruptedException {
    return run(DEFAULT_LIMIT, command);
  }

  /**
   * Runs the command within the limit; returns its output.
   *
   * @throws IOException naming the command and its output when it exits non-zero or outlives the limit
   *     (it is killed then)
   */
  public static String run(Duration limit, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close(); // nothing to say to it: a command that asks reads end of file
    // Read on another thread: a command that hangs with its output open must not hang the reader past the limit.
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(output unreadable: " + e.getMessage() + ")";
      }
    }, r -> new Thread(r, "host-command-output").start());
    if (!p.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " did not finish within " + limit);
    }
    String out;
    try {
      out = output.get(10, TimeUnit.SECONDS).trim();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      out = "(output unreadable: " + e + ")"; // a child that inherited the pipe keeps it open
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out);
    }
    return out;
  }
}
