package io.lencap.cli;

import io.lencap.api.CollectReport;
import io.lencap.api.Lencap;
import java.util.LinkedHashMap;
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
    CollectReport report;
    try (Lencap lencap = c.open()) {
      report = lencap.collect().join();
    }
    if (c.json) {
      Map<String, @Nullable Object> m = new LinkedHashMap<>();
      m.put("ran", report.ran());
      m.put("chunksDeleted", report.deleted());
      m.put("chunksKeptLocked", report.skippedLocked());
      m.put("lockedUntil", report.lockedUntil().map(Object::toString).orElse(null));
      c.print(m);
    } else if (!report.ran()) {
      c.out.println("another collection is running on the store; nothing done");
    } else {
      c.out.printf("deleted %d unused chunks%n", report.deleted());
      if (report.skippedLocked() > 0) {
        c.out.printf("kept %d unused chunks the storage locks (the last until %s)%n", report.skippedLocked(),
            report.lockedUntil().map(Object::toString).orElse("?"));
      }
    }
    return 0;
  }
}
