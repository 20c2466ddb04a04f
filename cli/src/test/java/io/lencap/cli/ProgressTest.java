package io.lencap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.LencapEvent;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class ProgressTest {
  Instant now = Instant.parse("2026-12-02T00:00:00Z");
  final Clock clock = new Clock() {
    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  };

  LencapEvent progress(String member, long done, long total) {
    return new LencapEvent.Progress("g", "cp", member, done, total, now);
  }

  @Test
  void withoutATerminalALineEveryFiveSecondsWithRateAndEta() {
    StringWriter s = new StringWriter();
    Progress p = new Progress(new PrintWriter(s), false, clock, "capture g");
    now = now.plusSeconds(30); // start-up and the pause do not count in the rate
    p.onEvent(progress("a", 0, 4 << 20));
    now = now.plusSeconds(1);
    p.onEvent(progress("a", 1 << 20, 4 << 20));
    assertEquals("", s.toString(), "nothing before the first period");
    now = now.plusSeconds(4);
    p.onEvent(progress("b", 1 << 20, 4 << 20));
    assertEquals("capture g: 2.0 MiB of 8.0 MiB, 409.6 KiB/s, 25%, ETA 15s (2 members)\n", s.toString());
    now = now.plus(Duration.ofSeconds(1));
    p.onEvent(progress("b", 2 << 20, 4 << 20));
    assertEquals(1, s.toString().lines().count(), "one line per period");
    p.finish();
    assertEquals(1, s.toString().lines().count());
  }

  @Test
  void onATerminalABarRedrawnInPlaceThenANewline() {
    StringWriter s = new StringWriter();
    Progress p = new Progress(new PrintWriter(s), true, clock, "restore g");
    p.onEvent(progress("a", 0, 100));
    now = now.plusSeconds(1);
    p.onEvent(progress("a", 50, 100));
    now = now.plusSeconds(1);
    p.onEvent(progress("a", 100, -1));
    p.finish();
    String text = s.toString();
    assertTrue(text.startsWith("\rrestore g [###############               ] 50 B of 100 B"), text);
    assertTrue(text.contains("\rrestore g [                              ] 100 B, 50 B/s"), text);
    assertTrue(text.endsWith("\n"), text);
  }
}
