package io.lencap.testing;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The serial console file of a counter guest, where it prints {@code COUNTER n} once a second and
 * {@code LENCAP-GUEST BOOT start=n} at each cold boot. Only complete lines count: QEMU appends the
 * console byte by byte, so the last line may still be growing ({@code COUNTER 1} of what becomes
 * {@code COUNTER 12}). A missing file shows no lines yet (a restore creates its console).
 */
public final class CounterConsole {
  private static final Pattern COUNTER = Pattern.compile("^COUNTER (\\d+)$", Pattern.MULTILINE);
  private static final String BOOT = "LENCAP-GUEST BOOT";
  /** How long a wait sleeps at most between two looks when the file system reports no change. */
  private static final long LOOK_AGAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Path file;

  private CounterConsole(Path file) {
    this.file = file.toAbsolutePath();
  }

  public static CounterConsole at(Path file) {
    return new CounterConsole(file);
  }

  public Path file() {
    return file;
  }

  /** The counters printed so far, in order (a restore shows as a step back). */
  public List<Integer> counters() throws IOException {
    List<Integer> out = new ArrayList<>();
    Matcher m = COUNTER.matcher(completeLines());
    while (m.find()) {
      out.add(Integer.parseInt(m.group(1)));
    }
    return out;
  }

  /** The last counter printed, if any. */
  public OptionalInt lastCounter() throws IOException {
    List<Integer> c = counters();
    return c.isEmpty() ? OptionalInt.empty() : OptionalInt.of(c.get(c.size() - 1));
  }

  /** How many cold boots the console shows. */
  public long boots() throws IOException {
    return completeLines().lines().filter(l -> l.startsWith(BOOT)).count();
  }

  /**
   * Waits until a counter after the first {@code skip} ones is accepted by the predicate; returns it.
   *
   * @throws TimeoutException naming the file and the last counter when none came within the limit
   */
  public int awaitCounter(int skip, IntPredicate accept, Duration limit)
      throws IOException, InterruptedException, TimeoutException {
    return await(limit, "a matching counter after the first " + skip, () -> {
      List<Integer> c = counters();
      for (int i = skip; i < c.size(); i++) {
        if (accept.test(c.get(i))) {
          return OptionalInt.of(c.get(i));
        }
      }
      return OptionalInt.empty();
    });
  }

  /** Waits until the last counter printed is greater than {@code after}; returns it. */
  public int awaitCounterAbove(int after, Duration limit) throws IOException, InterruptedException, TimeoutException {
    return await(limit, "a counter above " + after, () -> {
      OptionalInt last = lastCounter();
      return last.isPresent() && last.getAsInt() > after ? last : OptionalInt.empty();
    });
  }

  /**
   * Waits until the counter steps back after the first {@code skip} counters (a restore put an older
   * state in place); returns the counter it stepped back to.
   */
  public int awaitStepBack(int skip, Duration limit) throws IOException, InterruptedException, TimeoutException {
    return await(limit, "a step back after the first " + skip + " counters", () -> {
      List<Integer> c = counters();
      for (int i = Math.max(1, skip); i < c.size(); i++) {
        if (c.get(i) < c.get(i - 1)) {
          return OptionalInt.of(c.get(i));
        }
      }
      return OptionalInt.empty();
    });
  }

  private interface Look {
    OptionalInt find() throws IOException;
  }

  /**
   * Looks, then sleeps until the console's directory reports a change (inotify on Linux), and looks
   * again. The watch is registered before the first look, so no write between look and sleep is
   * missed; the bounded sleep only covers file systems whose changes the watch cannot see.
   */
  private int await(Duration limit, String what, Look look)
      throws IOException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + limit.toNanos();
    try (WatchService watch = file.getFileSystem().newWatchService()) {
      file.getParent().register(watch, ENTRY_CREATE, ENTRY_MODIFY);
      while (true) {
        OptionalInt found = look.find();
        if (found.isPresent()) {
          return found.getAsInt();
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          OptionalInt last = lastCounter();
          throw new TimeoutException("no " + what + " on " + file + " within " + limit + "; last: "
              + (last.isPresent() ? last.getAsInt() : Files.exists(file) ? "none" : "the file does not exist"));
        }
        WatchKey key = watch.poll(Math.min(left, LOOK_AGAIN_NANOS), TimeUnit.NANOSECONDS);
        if (key != null) {
          key.pollEvents();
          key.reset();
        }
      }
    }
  }

  private String completeLines() throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      return "";
    }
    return text.substring(0, text.lastIndexOf('\n') + 1).replace("\r", "");
  }
}
