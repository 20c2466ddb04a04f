package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.timeline.Timeline;
import io.lencap.timeline.TimelineImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "capture", description = "Captures the group SPEC declares (YAML or JSON) at one recovery line and "
    + "prints its checkpoint.")
final class CaptureCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "SPEC", description = "the group's spec file")
  @Nullable Path spec;

  @Option(names = "--timeline", paramLabel = "FILE", description = "also write the capture's timeline (SVG): "
      + "each member's phases as they happened")
  @Nullable Path timeline;

  @Override
  public Integer call() throws Exception {
    LencapCli c = Commands.cli(cli);
    Encapsulation group = c.spec(Commands.given(spec));
    Timeline events = new Timeline();
    Progress progress = new Progress(c.err, c.terminal, Clock.systemUTC(), "capture " + group.name());
    Checkpoint cp;
    try (Lencap lencap = c.openOrCreate(progress, events)) {
      try {
        cp = lencap.capture(group).join();
      } finally {
        progress.finish();
      }
    }
    if (timeline != null) {
      String svg = new TimelineImage(group.name() + " " + cp.id(), events.bars(cp.id())).svg();
      Files.writeString(timeline, svg, StandardCharsets.UTF_8);
    }
    if (c.json) {
      c.print(Shapes.checkpoint(cp));
    } else {
      ShowCommand.describe(c.out, cp, List.of());
    }
    return 0;
  }
}
