package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.Placement;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "restore", description = "Restores the group SPEC declares to CHECKPOINT (an id or latest), in "
    + "place or, for members given with --place, elsewhere.")
final class RestoreCommand implements Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(index = "0", paramLabel = "SPEC", description = "the group's spec file")
  @Nullable Path spec;

  @Parameters(index = "1", paramLabel = "CHECKPOINT", description = "a checkpoint id of the group, or latest")
  @Nullable String checkpoint;

  @Option(names = "--place", paramLabel = "MEMBER=LOCATOR", description = "restore MEMBER onto LOCATOR "
      + "(another connection, export, LUN or directory)")
  Map<String, String> place = new LinkedHashMap<>();

  @Option(names = "--place-property", paramLabel = "MEMBER.KEY=VALUE", description = "a property of a placed "
      + "member there (rank0.domain=rank0-copy)")
  Map<String, String> properties = new LinkedHashMap<>();

  @Override
  public Integer call() {
    LencapCli c = Commands.cli(cli);
    Encapsulation group = c.spec(Commands.given(spec));
    Placement placement = placement(place, properties);
    Progress progress = new Progress(c.err, c.terminal, Clock.systemUTC(), "restore " + group.name());
    try (Lencap lencap = c.open(progress)) {
      Checkpoint cp = Checkpoints.inGroup(lencap, group.name(), Commands.given(checkpoint));
      Instant start = Instant.now();
      try {
        lencap.restore(group, cp.id(), placement).join();
      } finally {
        progress.finish();
      }
      long millis = Duration.between(start, Instant.now()).toMillis();
      if (c.json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("encapsulation", group.name());
        m.put("restored", cp.id());
        m.put("placed", new TreeMap<>(place));
        m.put("millis", millis);
        c.print(m);
      } else {
        c.out.printf("restored %s to %s in %d ms%s%n", group.name(), cp.id(), millis,
            place.isEmpty() ? " (in place)" : ", placed " + new TreeMap<>(place));
      }
    }
    return 0;
  }

  static Placement placement(Map<String, String> place, Map<String, String> properties) {
    Map<String, Map<String, String>> props = new TreeMap<>();
    properties.forEach((key, value) -> {
      int dot = key.indexOf('.');
      if (dot <= 0 || !place.containsKey(key.substring(0, dot))) {
        throw new InvalidSpecException("--place-property " + key, "write MEMBER.KEY=VALUE for a member given "
            + "with --place");
      }
      props.computeIfAbsent(key.substring(0, dot), k -> new TreeMap<>()).put(key.substring(dot + 1), value);
    });
    Placement.Builder b = Placement.builder();
    place.forEach((member, locator) -> {
      try {
        b.move(member, new URI(locator), props.getOrDefault(member, Map.of()));
      } catch (URISyntaxException e) {
        throw new InvalidSpecException("--place " + member, "not a URI: " + e.getMessage());
      }
    });
    return b.build();
  }
}
