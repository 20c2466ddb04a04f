package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import io.lencap.api.NotFoundException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "list", description = "Lists the checkpoints of GROUP, or of every group in the store, oldest first.")
final class ListCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "GROUP", arity = "0..1", description = "an encapsulation's name")
  @Nullable String group;

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    List<Checkpoint> all = new ArrayList<>();
    try (Lencap lencap = c.open()) {
      List<String> groups = group == null ? lencap.encapsulations().join() : List.of(group);
      for (String g : groups) {
        all.addAll(lencap.checkpoints(g).join());
      }
    }
    if (group != null && all.isEmpty()) {
      throw new NotFoundException("no checkpoints of '" + group + "' in the store");
    }
    if (c.json) {
      c.print(Map.of("checkpoints", all.stream().map(Shapes::checkpoint).toList()));
      return 0;
    }
    c.out.printf("%-20s %-32s %-12s %9s %10s %10s %s%n", "group", "checkpoint", "mode", "pause", "state", "stored",
        "members");
    for (Checkpoint cp : all) {
      c.out.printf("%-20s %-32s %-12s %6d ms %10s %10s %d%n", cp.encapsulation(), cp.id(), Shapes.word(cp.mode().name()),
          cp.pause().toMillis(), Shapes.bytes(cp.logicalBytes()), Shapes.bytes(cp.storedBytes()), cp.members().size());
    }
    return 0;
  }
}
