package io.lencap.cli;

import io.lencap.api.DrillReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What {@code lencap drill} prints of a drill's {@link DrillReport}: human lines or the JSON shape (docs/CLI.md), with
 * the command's own check run and what of the sandbox directory was left.
 */
final class DrillOutput {
  private final DrillReport report;
  private final Path sandbox;
  private final SandboxMember.@Nullable CheckRun check;
  /** What was left: the providers' list, and the sandbox directory if it still holds anything. */
  final List<String> left;

  DrillOutput(DrillReport report, Path sandbox, SandboxMember.@Nullable CheckRun check) {
    this.report = report;
    this.sandbox = sandbox;
    this.check = check;
    this.left = new ArrayList<>(report.left());
  }

  boolean passed() {
    return report.passed() && left.isEmpty();
  }

  /** Whether the check command ran (it does not when the restore or a probe failed). */
  private boolean checked() {
    return check != null && report.check().isPresent();
  }

  void print(LencapCli c) {
    String restoreError = report.restoreError().orElse(null);
    if (c.json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("encapsulation", report.encapsulation());
      m.put("checkpoint", report.checkpointId());
      m.put("sandbox", sandbox.toString());
      m.put("passed", passed());
      m.put("restoreMillis", report.restore().toMillis());
      m.put("restoreError", restoreError);
      List<Object> ms = new ArrayList<>();
      for (DrillReport.Member x : report.members()) {
        Map<String, Object> y = new LinkedHashMap<>();
        y.put("id", x.id());
        y.put("passed", x.passed());
        y.put("restoreMillis", x.restore().toMillis());
        y.put("probeMillis", x.probe().toMillis());
        y.put("detail", x.detail());
        ms.add(y);
      }
      m.put("members", ms);
      Map<String, Object> checked = new LinkedHashMap<>();
      SandboxMember.CheckRun k = check;
      if (k != null && checked()) {
        checked.put("command", k.command);
        checked.put("status", k.status);
        checked.put("millis", report.check().orElseThrow().took().toMillis());
        checked.put("output", k.output);
      }
      m.put("check", checked.isEmpty() ? null : checked);
      m.put("removed", report.kept() ? null : left.isEmpty());
      m.put("left", left);
      c.print(m);
      return;
    }
    c.out.printf("drill of %s at %s in %s: %s%n", report.encapsulation(), report.checkpointId(), sandbox,
        passed() ? "PASSED" : "FAILED");
    c.out.printf("  restore %d ms%s%n", report.restore().toMillis(), restoreError == null ? "" : ": " + restoreError);
    for (DrillReport.Member x : report.members()) {
      c.out.printf("  %-4s %-16s restore %6d ms, probe %5d ms  %s%n", x.passed() ? "ok" : "FAIL", x.id(),
          x.restore().toMillis(), x.probe().toMillis(), x.detail());
    }
    SandboxMember.CheckRun k = check;
    if (k != null && checked()) {
      c.out.printf("  %-4s check `%s` exit %d in %d ms%s%n", k.status == 0 ? "ok" : "FAIL", k.command, k.status,
          report.check().orElseThrow().took().toMillis(), k.output.isEmpty() ? "" : ": " + k.output);
    }
    c.out.printf("  sandbox %s%n", report.kept() ? "kept (--keep)" : left.isEmpty() ? "removed"
        : "NOT all removed: " + left);
  }
}
