package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "delete", description = "Deletes checkpoints and collects the chunks no other checkpoint uses.")
final class DeleteCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "CHECKPOINT", arity = "1..*", description = "ID or GROUP/ID")
  List<String> checkpoints = new ArrayList<>();

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    List<String> deleted = new ArrayList<>();
    try (Lencap lencap = c.open()) {
      for (String ref : checkpoints) {
        Checkpoint cp = Checkpoints.find(lencap, ref).checkpoint();
        lencap.delete(cp.encapsulation(), cp.id()).join();
        deleted.add(cp.id());
        if (!c.json) {
          c.out.printf("deleted %s of %s%n", cp.id(), cp.encapsulation());
        }
      }
    }
    if (c.json) {
      c.print(Map.of("deleted", deleted));
    }
    return 0;
  }
}
