package io.lencap.timeline;

import io.lencap.api.Phase;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.jspecify.annotations.Nullable;

/**
 * Draws one capture's timeline: one row per member, a bar per phase, the pause (quiesce start to
 * resume end) as a red band under the bars. The same drawing as SVG text or a PNG file.
 */
public final class TimelineImage {
  private static final int LABEL = 140;
  private static final int WIDTH = 900;
  private static final int ROW = 28;
  private static final int TOP = 40;
  private static final Map<Phase, Color> COLORS = new EnumMap<>(Map.of(
      Phase.PREPARE, new Color(0xB0BEC5), Phase.QUIESCE, new Color(0xE53935), Phase.CUT, new Color(0xFB8C00),
      Phase.RESUME, new Color(0x43A047), Phase.TRANSFER, new Color(0x1E88E5), Phase.RELEASE, new Color(0x8E24AA),
      Phase.RESTORE, new Color(0x00897B), Phase.COMMIT, new Color(0x6D4C41)));

  private final String title;
  private final List<Timeline.Bar> bars;
  private final List<String> members;
  private final Instant start;
  private final double nanosPerPixel;

  public TimelineImage(String title, List<Timeline.Bar> bars) {
    this.title = title;
    this.bars = List.copyOf(bars);
    Set<String> ids = new LinkedHashSet<>();
    bars.forEach(b -> ids.add(b.memberId()));
    this.members = new ArrayList<>(ids);
    this.start = bars.stream().map(Timeline.Bar::start).min(Instant::compareTo).orElse(Instant.EPOCH);
    Instant end = bars.stream().map(Timeline.Bar::end).max(Instant::compareTo).orElse(start.plusMillis(1));
    this.nanosPerPixel = Math.max(1, Duration.between(start, end).toNanos()) / (double) (WIDTH - LABEL - 20);
  }

  private int height() {
    return TOP + ROW * members.size() + 50;
  }

  private double x(Instant t) {
    return LABEL + Duration.between(start, t).toNanos() / nanosPerPixel;
  }

  private double span(Instant a, Instant b) {
    return Math.max(1.5, Duration.between(a, b).toNanos() / nanosPerPixel);
  }

  private Duration total() {
    return Duration.ofNanos((long) ((WIDTH - LABEL - 20) * nanosPerPixel));
  }

  /** The pause band of a member: first quiesce start to last resume end. */
  private double @Nullable [] pauseBand(String member) {
    Instant q = null;
    Instant r = null;
    for (Timeline.Bar b : bars) {
      if (b.memberId().equals(member) && b.phase() == Phase.QUIESCE && q == null) {
        q = b.start();
      }
      if (b.memberId().equals(member) && b.phase() == Phase.RESUME) {
        r = b.end();
      }
    }
    return q == null || r == null ? null : new double[] {x(q), span(q, r), Duration.between(q, r).toNanos() / 1e6};
  }

  public String svg() {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height()));
    s.append(String.format(Locale.ROOT, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"));
    s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"14\">%s (%.1f ms shown)</text>%n",
        escape(title), total().toNanos() / 1e6));
    for (int i = 0; i < members.size(); i++) {
      String m = members.get(i);
      int y = TOP + i * ROW;
      s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + 17, escape(m)));
      double[] pause = pauseBand(m);
      if (pause != null) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"4\" fill=\"#d32f2f\">"
            + "<title>paused %.1f ms</title></rect>%n", pause[0], y + 22, pause[1], pause[2]));
      }
      for (Timeline.Bar b : bars) {
        if (b.memberId().equals(m)) {
          Color c = COLORS.getOrDefault(b.phase(), Color.GRAY);
          s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" "
              + "fill=\"#%06x\"><title>%s %.1f ms</title></rect>%n", x(b.start()), y + 3, span(b.start(), b.end()),
              c.getRGB() & 0xffffff, b.phase(), b.duration().toNanos() / 1e6));
        }
      }
    }
    int legendY = TOP + members.size() * ROW + 25;
    int lx = 10;
    for (Map.Entry<Phase, Color> e : COLORS.entrySet()) {
      s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#%06x\"/>"
          + "<text x=\"%d\" y=\"%d\">%s</text>%n", lx, legendY, e.getValue().getRGB() & 0xffffff, lx + 16,
          legendY + 11, e.getKey().name().toLowerCase(Locale.ROOT)));
      lx += 100;
    }
    s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"#d32f2f\"/>"
        + "<text x=\"%d\" y=\"%d\">paused</text>%n", lx, legendY + 4, lx + 16, legendY + 11));
    return s.append("</svg>\n").toString();
  }

  public void writePng(Path file) throws IOException {
    BufferedImage img = new BufferedImage(WIDTH, height(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, WIDTH, height());
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
      g.drawString(String.format(Locale.ROOT, "%s (%.1f ms shown)", title, total().toNanos() / 1e6), 10, 20);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      for (int i = 0; i < members.size(); i++) {
        String m = members.get(i);
        int y = TOP + i * ROW;
        g.setColor(Color.BLACK);
        g.drawString(m, 10, y + 17);
        double[] pause = pauseBand(m);
        if (pause != null) {
          g.setColor(new Color(0xd32f2f));
          g.fillRect((int) pause[0], y + 22, (int) Math.ceil(pause[1]), 4);
        }
        for (Timeline.Bar b : bars) {
          if (b.memberId().equals(m)) {
            g.setColor(COLORS.getOrDefault(b.phase(), Color.GRAY));
            g.fillRect((int) x(b.start()), y + 3, (int) Math.ceil(span(b.start(), b.end())), 18);
          }
        }
      }
      int legendY = TOP + members.size() * ROW + 25;
      int lx = 10;
      for (Map.Entry<Phase, Color> e : COLORS.entrySet()) {
        g.setColor(e.getValue());
        g.fillRect(lx, legendY, 12, 12);
        g.setColor(Color.BLACK);
        g.drawString(e.getKey().name().toLowerCase(Locale.ROOT), lx + 16, legendY + 11);
        lx += 100;
      }
      g.setColor(new Color(0xd32f2f));
      g.fillRect(lx, legendY + 4, 12, 4);
      g.setColor(Color.BLACK);
      g.drawString("paused", lx + 16, legendY + 11);
    } finally {
      g.dispose();
    }
    ImageIO.write(img, "png", file.toFile());
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
