package io.lencap.cli;

import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Prints transfer progress on standard error: on a terminal a bar redrawn in place (bytes, rate, ETA), at most
 * five times a second; otherwise a line every few seconds, so that logs of scheduled runs stay readable.
 */
final class Progress implements LencapListener {
  private final PrintWriter err;
  private final boolean terminal;
  private final Clock clock;
  private final Duration every;
  private final String verb;
  private final Map<String, long[]> members = new ConcurrentHashMap<>(); // id -> {done, total}
  private @Nullable Instant firstProgress;
  private Instant lastPrinted = Instant.MIN;
  private boolean drawn;

  Progress(PrintWriter err, boolean terminal, Clock clock, String verb) {
    this.err = err;
    this.terminal = terminal;
    this.clock = clock;
    this.every = terminal ? Duration.ofMillis(200) : Duration.ofSeconds(5);
    this.verb = verb;
  }

  @Override
  public void onEvent(LencapEvent event) {
    if (event instanceof LencapEvent.Progress p) {
      members.put(p.memberId(), new long[] {p.bytesDone(), p.totalBytes()});
      Instant now = clock.instant();
      synchronized (this) {
        if (firstProgress == null) {
          // Rates count from the transfer's first bytes, not from start-up and the pause; the first line comes one
          // period later, so that short operations print none.
          firstProgress = now;
          lastPrinted = now;
        }
        if (Duration.between(lastPrinted, now).compareTo(every) >= 0) {
          lastPrinted = now;
          print(now);
        }
      }
    }
  }

  /** Ends the bar's line, if one was drawn. */
  synchronized void finish() {
    if (terminal && drawn) {
      err.println();
      drawn = false;
    }
    err.flush();
  }

  private void print(Instant now) {
    long done = 0;
    long total = 0;
    boolean known = true;
    for (long[] m : members.values()) {
      done += m[0];
      known &= m[1] >= 0;
      total += Math.max(0, m[1]);
    }
    Instant first = firstProgress == null ? now : firstProgress;
    double seconds = Math.max(0.001, Duration.between(first, now).toNanos() / 1e9);
    double rate = done / seconds;
    String figures = Shapes.bytes(done) + (known && total > 0 ? " of " + Shapes.bytes(total) : "") + ", "
        + Shapes.bytes((long) rate) + "/s";
    if (known && total > 0 && rate > 0) {
      figures += String.format(Locale.ROOT, ", %d%%, ETA %ds", done * 100 / total,
          (long) Math.ceil(Math.max(0, total - done) / rate));
    }
    if (terminal) {
      int width = 30;
      int filled = known && total > 0 ? (int) Math.min(width, done * width / total) : 0;
      err.print("\r" + verb + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + figures + "   ");
      drawn = true;
    } else {
      err.println(verb + ": " + figures + " (" + members.size() + " members)");
    }
    err.flush();
  }
}
