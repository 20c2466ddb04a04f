package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs {@code cli/bin/lencap} as a process, the way an operator's shell does, and collects what it printed. */
final class Launcher {
  record Result(int status, String out, String err) {
    @Override
    public String toString() {
      return "exit " + status + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private final Path script;
  private final Map<String, String> environment;

  Launcher(Map<String, String> environment) {
    Path module = Path.of("").toAbsolutePath();
    this.script = module.resolve("bin/lencap");
    assertTrue(Files.isExecutable(script), "no launcher at " + script);
    this.environment = Map.copyOf(environment);
  }

  Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(script.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("LENCAP_STORE");
    // the class-data archive goes to the build's directory, not the user's cache, unless a test names one
    pb.environment().put("LENCAP_CDS_DIR", Path.of("target", "cds").toAbsolutePath().toString());
    pb.environment().putAll(environment);
    Process p = pb.start();
    p.getOutputStream().close();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("lencap " + String.join(" ", args) + " did not finish in 5 minutes");
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  private static String read(java.io.InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
