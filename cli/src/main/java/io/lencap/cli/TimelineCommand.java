package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.Phase;
import io.lencap.timeline.Timeline;
import io.lencap.timeline.TimelineImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "timeline", description = "Writes a checkpoint's timeline as SVG from what the store records: each "
    + "member's pause ending at the recovery line, then the transfer and commit. (`capture --timeline` draws every "
    + "phase as it happened.)")
final class TimelineCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "CHECKPOINT", description = "ID, GROUP/ID or GROUP/latest")
  @Nullable String checkpoint;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "where to write the SVG (default "
      + "timeline-ID.svg)")
  @Nullable Path output;

  @Override
  public Integer call() throws Exception {
    LencapCli c = Commands.cli(cli);
    Checkpoint cp;
    try (Lencap lencap = c.open()) {
      cp = Checkpoints.find(lencap, Commands.given(checkpoint)).checkpoint();
    }
    Path file = output != null ? output : Path.of("timeline-" + cp.id() + ".svg");
    Files.writeString(file, new TimelineImage(cp.encapsulation() + " " + cp.id(), bars(cp)).svg(),
        StandardCharsets.UTF_8);
    if (c.json) {
      c.print(java.util.Map.of("checkpoint", cp.id(), "file", file.toString()));
    } else {
      c.out.printf("wrote %s%n", file);
    }
    return 0;
  }

  /** The stored figures as bars: a checkpoint records pause lengths and the recovery line, not each phase. */
  static List<Timeline.Bar> bars(Checkpoint cp) {
    List<Timeline.Bar> bars = new ArrayList<>();
    for (MemberCheckpoint m : cp.members()) {
      bars.add(new Timeline.Bar(m.id(), Phase.QUIESCE, cp.recoveryLine().minus(m.pause()), cp.recoveryLine()));
      bars.add(new Timeline.Bar(m.id(), Phase.TRANSFER, cp.recoveryLine(), cp.committedAt()));
    }
    return bars;
  }
}
