package io.lencap.cli;

import io.lencap.api.Lencap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "gc", description = "Deletes the chunks no checkpoint and no operation in flight uses (after "
    + "checkpoints were deleted by another process, or a crash).")
final class GcCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    int deleted;
    try (Lencap lencap = c.open()) {
      deleted = lencap.collect().join();
    }
    if (c.json) {
      c.print(Map.of("chunksDeleted", deleted));
    } else {
      c.out.printf("deleted %d unused chunks%n", deleted);
    }
    return 0;
  }
}
