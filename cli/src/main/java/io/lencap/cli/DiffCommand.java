package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.CheckpointDiff;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "diff", description = "Shows what changed from checkpoint A to checkpoint B of one group, per member: "
    + "entries added (+), removed (-) and changed (~) with the byte extents that differ.")
final class DiffCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(index = "0", paramLabel = "A", description = "the older checkpoint: ID or GROUP/ID")
  @Nullable String from;

  @Parameters(index = "1", paramLabel = "B", description = "the newer checkpoint: ID, GROUP/ID or GROUP/latest")
  @Nullable String to;

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    CheckpointDiff diff;
    String group;
    try (Lencap lencap = c.open()) {
      Checkpoint a = Checkpoints.find(lencap, Commands.given(from)).checkpoint();
      Checkpoint b = Checkpoints.find(lencap, Commands.given(to)).checkpoint();
      if (!a.encapsulation().equals(b.encapsulation())) {
        throw new InvalidSpecException("B", "compare two checkpoints of one group: " + a.id() + " is of "
            + a.encapsulation() + ", " + b.id() + " of " + b.encapsulation());
      }
      group = a.encapsulation();
      diff = lencap.diff(group, a.id(), b.id()).join();
    }
    if (c.json) {
      c.print(Shapes.diff(group, diff));
      return 0;
    }
    for (CheckpointDiff.Member m : diff.members()) {
      c.out.printf("%s: %s%n", m.id(), m.changes().isEmpty() ? "unchanged" : m.changes().size() + " entries differ, "
          + Shapes.bytes(m.changedBytes()) + " of content");
      for (CheckpointDiff.Change ch : m.changes()) {
        String mark = switch (ch.kind()) {
          case ADDED -> "+";
          case REMOVED -> "-";
          case CHANGED -> "~";
        };
        String extents = ch.extents().isEmpty() ? "" : " " + ch.extents().stream().limit(8)
            .map(e -> e.offset() + "+" + e.length()).collect(Collectors.joining(", "))
            + (ch.extents().size() > 8 ? " and " + (ch.extents().size() - 8) + " more" : "");
        c.out.printf("  %s %s%s%n", mark, ch.path(), extents);
      }
    }
    return 0;
  }
}
