package io.lencap.cli;

import io.lencap.api.Encapsulation;
import io.lencap.api.Resource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The drill's user check as a command: {@code sh -c COMMAND} with each sandbox member's locator (and a VM's domain)
 * in its environment, within five minutes; a non-zero exit fails the drill. Restoring, probing and removing the
 * sandbox are {@code Lencap.drill}'s.
 */
final class SandboxMember {
  private static final Duration LIMIT = Duration.ofMinutes(5);

  private SandboxMember() {}

  /** One run of the check command; what it did is kept for the report (exit status and output). */
  static final class CheckRun {
    final String command;
    private final Path dir;
    volatile int status = -1;
    volatile String output = "";

    CheckRun(String command, Path dir) {
      this.command = command;
      this.dir = dir;
    }

    /** Runs the command against the restored sandbox: its output's last line(s), or throws when it exits non-zero. */
    String run(Encapsulation sandbox) {
      ProcessBuilder pb = new ProcessBuilder(List.of("sh", "-c", command)).redirectErrorStream(true);
      pb.environment().put("LENCAP_DRILL_DIR", dir.toString());
      for (Resource r : sandbox.resources()) {
        String key = "LENCAP_DRILL_" + r.id().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
        pb.environment().put(key + "_LOCATOR", r.locator().toString());
        r.property("domain").ifPresent(d -> pb.environment().put(key + "_DOMAIN", d));
      }
      Run result = SandboxMember.run(pb, LIMIT);
      status = result.status;
      output = ExitStatus.oneLine(tail(result.output));
      if (status != 0) {
        throw new IllegalStateException("`" + command + "` exit " + status + (output.isEmpty() ? "" : ": " + output));
      }
      return output;
    }
  }

  private record Run(int status, String output) {}

  private static Run run(ProcessBuilder pb, Duration limit) {
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
        try (var in = p.getInputStream()) {
          return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          return "";
        }
      });
      if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Run(-1, "did not finish within " + limit.toSeconds() + " s");
      }
      return new Run(p.exitValue(), out.join());
    } catch (IOException e) {
      return new Run(-1, "cannot run " + pb.command().get(0) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Run(-1, "interrupted");
    }
  }

  private static String tail(@Nullable String output) {
    String s = output == null ? "" : output.strip();
    return s.length() > 300 ? "..." + s.substring(s.length() - 300) : s;
  }
}
