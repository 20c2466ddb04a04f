package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "show", description = "Shows a checkpoint: its members, how each was cut, pauses, bytes, notes and "
    + "the chain of checkpoints it is incremental to.")
final class ShowCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "CHECKPOINT", description = "ID, GROUP/ID or GROUP/latest")
  @Nullable String checkpoint;

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    try (Lencap lencap = c.open()) {
      Checkpoints.Found found = Checkpoints.find(lencap, Commands.given(checkpoint));
      if (c.json) {
        Map<String, Object> m = Shapes.checkpoint(found.checkpoint());
        m.put("chain", found.chain());
        c.print(m);
      } else {
        describe(c.out, found.checkpoint(), found.chain());
      }
    }
    return 0;
  }

  static void describe(PrintWriter out, Checkpoint cp, List<String> chain) {
    out.printf("checkpoint %s of %s (%s)%n", cp.id(), cp.encapsulation(), Shapes.word(cp.mode().name()));
    out.printf("  recovery line %s, committed %s%n", cp.recoveryLine(), cp.committedAt());
    out.printf("  pause %d ms, state %s, stored %s%n", cp.pause().toMillis(), Shapes.bytes(cp.logicalBytes()),
        Shapes.bytes(cp.storedBytes()));
    out.printf("  parent %s%n", chain.isEmpty() ? cp.parent().orElse("none") : String.join(" <- ", chain));
    out.printf("  %-16s %-5s %-16s %-26s %9s %10s %10s%n", "member", "type", "provider", "method", "pause", "state",
        "stored");
    for (MemberCheckpoint m : cp.members()) {
      out.printf("  %-16s %-5s %-16s %-26s %6d ms %10s %10s%n", m.id(), m.type().shortName(), m.provider(), m.method(),
          m.pause().toMillis(), Shapes.bytes(m.logicalBytes()), Shapes.bytes(m.storedBytes()));
      for (String note : m.notes()) {
        out.printf("    note: %s%n", note);
      }
    }
  }
}
