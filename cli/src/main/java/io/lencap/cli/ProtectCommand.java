package io.lencap.cli;

import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.Protection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "protect", description = "Protects the group SPEC declares as its policy says (scheduled captures, "
    + "failure detection, restores), in the foreground, printing its events, until stopped (Ctrl-C, SIGTERM).")
final class ProtectCommand implements java.util.concurrent.Callable<Integer> {
  @ParentCommand
  @Nullable LencapCli cli;

  @Parameters(paramLabel = "SPEC", description = "the group's spec file")
  @Nullable Path spec;

  @Option(names = "--for", paramLabel = "SECONDS", description = "stop after this many seconds (default: until "
      + "stopped)")
  long seconds;

  @Override
  public Integer call() throws InterruptedException {
    LencapCli c = Commands.cli(cli);
    Encapsulation group = c.spec(Commands.given(spec));
    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.countDown();
      try {
        stopped.await(60, TimeUnit.SECONDS); // let the protection close: members must not stay quiesced
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "lencap-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try (Lencap lencap = c.openOrCreate(events(c)); Protection p = lencap.protect(group)) {
      line(c, "protecting", group.name(), "interval " + p.interval().map(Duration::toString).orElse("none"));
      if (seconds > 0) {
        stop.await(seconds, TimeUnit.SECONDS);
      } else {
        stop.await();
      }
      line(c, "stopping", group.name(), ""); // a capture in flight is cancelled: its phases may fail after this
    } finally {
      stopped.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // shutting down already: the hook is running and waits for us
      }
    }
    line(c, "stopped", group.name(), "");
    return 0;
  }

  private static LencapListener events(LencapCli c) {
    return e -> {
      if (e instanceof LencapEvent.Committed x) {
        line(c, "committed", x.encapsulation(), x.checkpointId() + " pause " + x.checkpoint().pause().toMillis()
            + " ms, stored " + Shapes.bytes(x.checkpoint().storedBytes()));
      } else if (e instanceof LencapEvent.FailureDetected x) {
        line(c, "failure", x.encapsulation(), x.failure().memberId() + " " + Shapes.word(x.failure().kind().name())
            + ": " + ExitStatus.oneLine(x.failure().detail()));
      } else if (e instanceof LencapEvent.Recovered x) {
        line(c, "recovered", x.encapsulation(), "to " + x.checkpointId() + " after " + x.attempts() + " attempts");
      } else if (e instanceof LencapEvent.PhaseChanged x && x.status() == LencapEvent.Status.FAILED) {
        line(c, "phase-failed", x.encapsulation(), (x.memberId() == null ? "group" : x.memberId()) + " "
            + Shapes.word(x.phase().name()) + ": "
            + ExitStatus.oneLine(x.detail()));
      }
    };
  }

  /** One event: a line of text, or with --json one JSON object per line. */
  private static synchronized void line(LencapCli c, String event, String group, String detail) {
    if (c.json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("event", event);
      m.put("encapsulation", group);
      m.put("at", java.time.Instant.now().toString());
      m.put("detail", detail);
      try {
        c.out.println(c.mapper.copy().disable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
            .writeValueAsString(m));
      } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
        throw new IllegalStateException(x);
      }
    } else {
      c.out.printf("%s %-12s %s %s%n", java.time.Instant.now(), event, group, detail);
    }
    c.out.flush();
  }
}
