package io.lencap.timeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TimelineTest {
  static final Instant T = Instant.parse("2026-11-22T00:00:00Z");

  static void phase(Timeline t, String member, Phase p, int fromMs, int toMs) {
    t.onEvent(new LencapEvent.PhaseChanged("g", "c1", member, p, Status.STARTED, T.plusMillis(fromMs), null));
    t.onEvent(new LencapEvent.PhaseChanged("g", "c1", member, p, Status.COMPLETED, T.plusMillis(toMs), null));
  }

  @Test
  void barsPausesAndPictures(@TempDir Path dir) throws Exception {
    Timeline t = new Timeline();
    phase(t, "vm", Phase.QUIESCE, 10, 12);
    phase(t, "vm", Phase.CUT, 12, 40);
    phase(t, "vm", Phase.RESUME, 41, 45);
    phase(t, "vm", Phase.TRANSFER, 45, 900);
    phase(t, "lun", Phase.QUIESCE, 12, 13);
    phase(t, "lun", Phase.CUT, 13, 20);
    phase(t, "lun", Phase.RESUME, 40, 41);
    assertEquals(7, t.bars("c1").size());
    assertEquals(Duration.ofMillis(35), t.pauses("c1").get("vm"));
    assertEquals(Duration.ofMillis(29), t.pauses("c1").get("lun"));
    String svg = new TimelineImage("capture c1", t.bars("c1")).svg();
    assertTrue(svg.startsWith("<svg") && svg.contains("paused 35.0 ms") && svg.contains("TRANSFER 855.0 ms"), svg);
    Path png = dir.resolve("c1.png");
    new TimelineImage("capture c1", t.bars("c1")).writePng(png);
    byte[] head = Files.readAllBytes(png);
    assertTrue(head.length > 1000 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G');
  }
}
