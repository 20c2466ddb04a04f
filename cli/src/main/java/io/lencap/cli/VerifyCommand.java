package io.lencap.cli;

import io.lencap.api.Lencap;
import io.lencap.api.VerifyReport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "verify", description = "Re-reads and re-hashes every chunk of the checkpoints of GROUP (or of every "
    + "group) and names each bad chunk with the checkpoints and members that use it. Exits 5 when one is bad.")
final class VerifyCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "GROUP", arity = "0..1", description = "an encapsulation's name")
  @Nullable String group;

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    List<String> groups;
    List<VerifyReport> reports = new ArrayList<>();
    try (Lencap lencap = c.open()) {
      groups = group == null ? lencap.encapsulations().join() : List.of(group);
      for (String g : groups) {
        if (!c.json && !c.terminal) {
          c.err.println("verifying " + g);
        }
        reports.add(lencap.verify(g).join());
      }
    }
    boolean ok = reports.stream().allMatch(VerifyReport::ok);
    if (c.json) {
      c.print(Shapes.verify(groups, reports));
    } else {
      long chunks = reports.stream().mapToLong(VerifyReport::chunksChecked).sum();
      long checkpoints = reports.stream().mapToLong(r -> r.checkpoints().size()).sum();
      for (VerifyReport r : reports) {
        for (VerifyReport.Problem p : r.problems()) {
          c.out.printf("BAD checkpoint %s member %s chunk %s: %s%n", p.checkpointId(), p.memberId(), p.chunkId(),
              ExitStatus.oneLine(p.problem()));
        }
      }
      c.out.printf("%s: %s of %s, %s read and hashed%n", ok ? "ok" : "CORRUPT", Shapes.count(checkpoints, "checkpoint"),
          Shapes.count(groups.size(), "group"), Shapes.count(chunks, "chunk"));
    }
    if (!ok) {
      List<VerifyReport.Problem> bad = reports.stream().flatMap(r -> r.problems().stream()).toList();
      VerifyReport.Problem first = bad.get(0);
      c.err.println("lencap: " + ExitStatus.CORRUPT.word + ": " + bad.size() + " bad chunk uses, the first chunk "
          + first.chunkId() + " of checkpoint " + first.checkpointId() + ", member " + first.memberId() + " ("
          + ExitStatus.CORRUPT.hint + ")");
      return ExitStatus.CORRUPT.code;
    }
    return 0;
  }
}
