package io.lencap.cli;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What a drill does to its sandbox's members apart from restoring them: checks that each is up (a VM's domain
 * runs, a tree's directory is there), runs the user's check, and removes them. VMs are looked at and removed with
 * {@code virsh} on their own connection, as an operator would.
 */
final class SandboxMember {
  private static final Duration LIMIT = Duration.ofMinutes(5);

  private SandboxMember() {}

  static DrillReport.Member check(Resource r, long restoreMillis) {
    Instant start = Instant.now();
    boolean ok;
    String detail;
    if (r.type() == ResourceType.VIRTUAL_MACHINE) {
      String domain = r.property("domain").orElseThrow();
      Run state = run(List.of("virsh", "-c", r.locator().toString(), "domstate", domain), Duration.ofMinutes(1));
      ok = state.status == 0 && state.output.strip().equals("running");
      detail = "domain " + domain + " " + ExitStatus.oneLine(state.output.strip());
    } else {
      Path dir = Path.of(r.locator());
      ok = Files.isDirectory(dir);
      detail = ok ? "directory " + dir + " restored" : "directory " + dir + " missing";
    }
    return new DrillReport.Member(r.id(), ok, restoreMillis, Duration.between(start, Instant.now()).toMillis(),
        detail);
  }

  static DrillReport.Check runCheck(String command, Path dir, Collection<Resource> members) {
    List<String> sh = List.of("sh", "-c", command);
    ProcessBuilder pb = new ProcessBuilder(sh).redirectErrorStream(true);
    pb.environment().put("LENCAP_DRILL_DIR", dir.toString());
    for (Resource r : members) {
      String key = "LENCAP_DRILL_" + r.id().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
      pb.environment().put(key + "_LOCATOR", r.locator().toString());
      r.property("domain").ifPresent(d -> pb.environment().put(key + "_DOMAIN", d));
    }
    Instant start = Instant.now();
    Run result = run(pb, LIMIT);
    return new DrillReport.Check(command, result.status, Duration.between(start, Instant.now()).toMillis(),
        ExitStatus.oneLine(tail(result.output)));
  }

  /** Removes the sandbox's domains and files; returns what could not be removed (empty when all is gone). */
  static List<String> remove(Collection<Resource> members, Path dir) {
    List<String> left = new ArrayList<>();
    for (Resource r : members) {
      if (r.type() == ResourceType.VIRTUAL_MACHINE) {
        String uri = r.locator().toString();
        String domain = r.property("domain").orElseThrow();
        run(List.of("virsh", "-c", uri, "destroy", domain), Duration.ofMinutes(1)); // not running: nothing to do
        run(List.of("virsh", "-c", uri, "undefine", domain, "--snapshots-metadata", "--checkpoints-metadata"),
            Duration.ofMinutes(1));
        if (run(List.of("virsh", "-c", uri, "dominfo", domain), Duration.ofMinutes(1)).status == 0) {
          left.add("domain " + domain + " on " + uri);
        }
      }
    }
    try {
      DrillCommand.deleteTree(dir);
    } catch (IOException e) {
      left.add(dir + " (" + e + ")");
    }
    return left;
  }

  private record Run(int status, String output) {}

  private static Run run(List<String> command, Duration limit) {
    return run(new ProcessBuilder(command).redirectErrorStream(true), limit);
  }

  private static Run run(ProcessBuilder pb, Duration limit) {
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
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

  private static String tail(String output) {
    String s = output.strip();
    return s.length() > 300 ? "..." + s.substring(s.length() - 300) : s;
  }
}
