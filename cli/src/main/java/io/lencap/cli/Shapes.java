package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.CheckpointDiff;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.VerifyReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON shapes of {@code --json}, built field by field so that they stay what docs/CLI.md documents whatever
 * the API's records gain. Durations are whole milliseconds, instants ISO-8601 in UTC, sizes bytes.
 */
final class Shapes {
  private Shapes() {}

  static Map<String, Object> checkpoint(Checkpoint cp) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", cp.id());
    m.put("encapsulation", cp.encapsulation());
    m.put("parent", cp.parent().orElse(null));
    m.put("mode", word(cp.mode().name()));
    m.put("startedAt", cp.startedAt().toString());
    m.put("recoveryLine", cp.recoveryLine().toString());
    m.put("committedAt", cp.committedAt().toString());
    m.put("pauseMillis", cp.pause().toMillis());
    m.put("logicalBytes", cp.logicalBytes());
    m.put("storedBytes", cp.storedBytes());
    List<Object> members = new ArrayList<>();
    for (MemberCheckpoint mc : cp.members()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("id", mc.id());
      x.put("type", mc.type().shortName());
      x.put("provider", mc.provider());
      x.put("method", mc.method());
      x.put("pauseMillis", mc.pause().toMillis());
      x.put("logicalBytes", mc.logicalBytes());
      x.put("storedBytes", mc.storedBytes());
      x.put("notes", mc.notes());
      members.add(x);
    }
    m.put("members", members);
    return m;
  }

  static Map<String, Object> verify(List<String> groups, List<VerifyReport> reports) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ok", reports.stream().allMatch(VerifyReport::ok));
    m.put("encapsulations", groups);
    m.put("checkpoints", reports.stream().flatMap(r -> r.checkpoints().stream()).toList());
    m.put("chunksChecked", reports.stream().mapToLong(VerifyReport::chunksChecked).sum());
    List<Object> problems = new ArrayList<>();
    for (VerifyReport r : reports) {
      for (VerifyReport.Problem p : r.problems()) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("checkpoint", p.checkpointId());
        x.put("member", p.memberId());
        x.put("chunk", p.chunkId());
        x.put("problem", p.problem());
        problems.add(x);
      }
    }
    m.put("problems", problems);
    return m;
  }

  static Map<String, Object> diff(String encapsulation, CheckpointDiff d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("encapsulation", encapsulation);
    m.put("from", d.from());
    m.put("to", d.to());
    List<Object> members = new ArrayList<>();
    for (CheckpointDiff.Member dm : d.members()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("id", dm.id());
      x.put("changedBytes", dm.changedBytes());
      List<Object> changes = new ArrayList<>();
      for (CheckpointDiff.Change c : dm.changes()) {
        Map<String, Object> y = new LinkedHashMap<>();
        y.put("path", c.path());
        y.put("kind", word(c.kind().name()));
        y.put("extents", c.extents().stream().map(e -> Map.of("offset", e.offset(), "length", e.length())).toList());
        changes.add(y);
      }
      x.put("changes", changes);
      members.add(x);
    }
    m.put("members", members);
    return m;
  }

  /** {@code NON_BLOCKING} as {@code non-blocking}: the spelling the spec files use. */
  static String word(String enumName) {
    return enumName.toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** {@code 1 group}, {@code 2 groups}. */
  static String count(long n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** 1536 as {@code 1.5 KiB}. */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
