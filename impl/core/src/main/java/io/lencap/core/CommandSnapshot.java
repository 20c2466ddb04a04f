package io.lencap.core;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@link StorageSnapshot} that runs a command the user names, so that any storage with a command line
 * (zfs, lvcreate, rbd, an array's ssh) plugs in without Java. For resources with the property
 * {@code snapshot.command} (an executable): {@code COMMAND take LOCATOR NAME} runs in the pause and prints
 * the image's locator as the last line of its standard output; {@code COMMAND delete LOCATOR NAME} deletes
 * it, exiting 0 when it is already gone. The command sees the resource's properties as environment
 * variables ({@code rbd.image} as {@code LENCAP_PROPERTY_RBD_IMAGE}), never its secrets, and otherwise a
 * minimal environment (no variable of the Java process leaks in). The command must be an absolute path
 * (never looked up on {@code PATH}). It must finish within {@code snapshot.timeoutSeconds} (60 unless set),
 * or it is killed with every process it started. A {@code take} that fails is followed by a {@code delete}
 * of the same name, so that a snapshot it may have made before failing is not left behind.
 */
public final class CommandSnapshot implements StorageSnapshot {
  static final String COMMAND = "snapshot.command";
  static final String TIMEOUT = "snapshot.timeoutSeconds";

  @Override
  public boolean supports(Resource resource) {
    return resource.property(COMMAND).isPresent();
  }

  /** The run of a command a minimal environment starts with. */
  private static final Map<String, String> BASE_ENVIRONMENT = Map.of(
      "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG", "C.UTF-8");

  @Override
  public URI take(Resource resource, String name) throws IOException, InterruptedException {
    try {
      return locatorPrinted(resource, run(resource, "take", name).strip());
    } catch (IOException e) {
      try {
        run(resource, "delete", name); // a take that failed half-way may have made the snapshot
      } catch (IOException | RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  private static URI locatorPrinted(Resource resource, String out) throws IOException {
    String last = out.substring(out.lastIndexOf('\n') + 1).strip();
    try {
      URI at = new URI(last);
      if (at.isAbsolute() && at.getScheme().equalsIgnoreCase(resource.locator().getScheme())) {
        return at;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw new IOException(command(resource) + " take printed '" + last + "' last, not a "
        + resource.locator().getScheme() + ":// locator of the image");
  }

  @Override
  public void delete(Resource resource, String name) throws IOException, InterruptedException {
    run(resource, "delete", name);
  }

  private static String command(Resource resource) {
    return "snapshot command " + resource.property(COMMAND).orElseThrow();
  }

  /** The executable: an absolute path, so that nothing on {@code PATH} can stand in for it. */
  private static String executable(Resource resource) {
    String command = resource.property(COMMAND).orElseThrow();
    if (!Path.of(command).isAbsolute()) {
      throw new InvalidSpecException("resources[" + resource.id() + "].properties." + COMMAND,
          "must be an absolute path, was '" + command + "'");
    }
    return command;
  }

  /** Kills the command and everything it started (an rbd or tgtadm it runs would run on otherwise). */
  private static void killTree(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  /** Runs {@code COMMAND verb LOCATOR NAME}; its standard output, or an error with the end of its standard error. */
  private static String run(Resource resource, String verb, String name) throws IOException, InterruptedException {
    long seconds = timeoutSeconds(resource);
    Path out = Files.createTempFile("lencap-snapshot", ".out");
    Path err = Files.createTempFile("lencap-snapshot", ".err");
    try {
      // Output to files, not pipes: waitFor's time limit then holds even for a command that never closes them.
      ProcessBuilder pb = new ProcessBuilder(List.of(executable(resource), verb,
          resource.locator().toString(), name)).redirectOutput(out.toFile()).redirectError(err.toFile());
      Map<String, String> env = pb.environment();
      env.clear();
      env.putAll(BASE_ENVIRONMENT);
      resource.properties().forEach((k, v) -> env.put("LENCAP_PROPERTY_"
          + k.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"), v));
      Process p = pb.start();
      try {
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
          throw new IOException(command(resource) + " " + verb + " did not finish in " + seconds + " s");
        }
      } finally {
        killTree(p);
      }
      if (p.exitValue() != 0) {
        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
        throw new IOException(command(resource) + " " + verb + " " + name + " failed with status " + p.exitValue()
            + ": " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size())));
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static long timeoutSeconds(Resource resource) {
    String text = resource.property(TIMEOUT).orElse("60");
    try {
      long seconds = Long.parseLong(text.strip());
      if (seconds > 0) {
        return seconds;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new InvalidSpecException("resources[" + resource.id() + "].properties." + TIMEOUT,
        "must be a positive number of seconds, was '" + text + "'");
  }
}
