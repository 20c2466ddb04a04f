package io.lencap.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** What a drill found: per member pass or fail with timings, the user's check, and what removal left. */
final class DrillReport {
  record Member(String id, boolean passed, long restoreMillis, long checkMillis, String detail) {}

  record Check(String command, int status, long millis, String output) {}

  final String group;
  final Path sandbox;
  @Nullable String checkpoint;
  @Nullable String restoreError;
  long restoreMillis;
  final List<Member> members = new ArrayList<>();
  @Nullable Check check;
  @Nullable List<String> removed; // what was left; null when --keep

  DrillReport(String group, Path sandbox) {
    this.group = group;
    this.sandbox = sandbox;
  }

  boolean passed() {
    return restoreError == null && members.stream().allMatch(Member::passed) && (check == null || check.status() == 0)
        && (removed == null || removed.isEmpty());
  }

  void print(LencapCli c) {
    if (c.json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("encapsulation", group);
      m.put("checkpoint", checkpoint);
      m.put("sandbox", sandbox.toString());
      m.put("passed", passed());
      m.put("restoreMillis", restoreMillis);
      m.put("restoreError", restoreError);
      List<Object> ms = new ArrayList<>();
      for (Member x : members) {
        Map<String, Object> y = new LinkedHashMap<>();
        y.put("id", x.id());
        y.put("passed", x.passed());
        y.put("restoreMillis", x.restoreMillis());
        y.put("checkMillis", x.checkMillis());
        y.put("detail", x.detail());
        ms.add(y);
      }
      m.put("members", ms);
      Check k = check;
      Map<String, Object> checked = new LinkedHashMap<>();
      if (k != null) {
        checked.put("command", k.command());
        checked.put("status", k.status());
        checked.put("millis", k.millis());
        checked.put("output", k.output());
      }
      m.put("check", k == null ? null : checked);
      m.put("removed", removed == null ? null : removed.isEmpty());
      m.put("left", removed == null ? List.of() : removed);
      c.print(m);
      return;
    }
    c.out.printf("drill of %s at %s in %s: %s%n", group, checkpoint, sandbox, passed() ? "PASSED" : "FAILED");
    c.out.printf("  restore %d ms%s%n", restoreMillis, restoreError == null ? "" : ": " + restoreError);
    for (Member x : members) {
      c.out.printf("  %-4s %-16s restore %6d ms, check %5d ms  %s%n", x.passed() ? "ok" : "FAIL", x.id(),
          x.restoreMillis(), x.checkMillis(), x.detail());
    }
    Check k = check;
    if (k != null) {
      c.out.printf("  %-4s check `%s` exit %d in %d ms%s%n", k.status() == 0 ? "ok" : "FAIL", k.command(), k.status(),
          k.millis(), k.output().isEmpty() ? "" : ": " + k.output());
    }
    c.out.printf("  sandbox %s%n", removed == null ? "kept (--keep)" : removed.isEmpty() ? "removed"
        : "NOT all removed: " + removed);
  }
}
