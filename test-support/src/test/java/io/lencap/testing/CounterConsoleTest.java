package io.lencap.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CounterConsoleTest {
  @TempDir
  Path dir;

  private void append(Path file, String text) throws Exception {
    Files.writeString(file, text, StandardCharsets.ISO_8859_1, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  @Test
  void onlyCompleteLinesCountAndBootsAreCounted() throws Exception {
    Path file = dir.resolve("console.log");
    append(file, "LENCAP-GUEST BOOT start=0\r\nCOUNTER 0\r\nkernel noise\nCOUNTER 1\r\nCOUNTER 1");
    CounterConsole console = CounterConsole.at(file);
    assertEquals(List.of(0, 1), console.counters(), "the growing last line (COUNTER 1 of COUNTER 12) is not read");
    assertEquals(OptionalInt.of(1), console.lastCounter());
    assertEquals(1, console.boots());
    append(file, "2\n");
    assertEquals(List.of(0, 1, 12), console.counters());
  }

  @Test
  void aMissingFileShowsNoLinesYet() throws Exception {
    CounterConsole console = CounterConsole.at(dir.resolve("absent.log"));
    assertEquals(List.of(), console.counters());
    assertEquals(OptionalInt.empty(), console.lastCounter());
    TimeoutException e = assertThrows(TimeoutException.class,
        () -> console.awaitCounter(0, n -> true, Duration.ofMillis(50)));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void aWaitReturnsTheCounterThatArrivesWhileItWaits() throws Exception {
    Path file = dir.resolve("console.log");
    append(file, "COUNTER 5\n");
    CounterConsole console = CounterConsole.at(file);
    CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> {
      try {
        return console.awaitCounterAbove(5, Duration.ofMinutes(1));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    append(file, "COUNTER 6\n"); // before or after the wait began: either way it must be found
    assertEquals(6, waiting.get(30, TimeUnit.SECONDS));
  }

  @Test
  void aStepBackAfterTheSeenCountersIsARestore() throws Exception {
    Path file = dir.resolve("console.log");
    append(file, "COUNTER 7\nCOUNTER 8\nCOUNTER 9\nCOUNTER 8\nCOUNTER 9\n");
    CounterConsole console = CounterConsole.at(file);
    assertEquals(8, console.awaitStepBack(3, Duration.ofSeconds(1)));
    assertThrows(TimeoutException.class, () -> console.awaitStepBack(4, Duration.ofMillis(50)));
    assertEquals(9, console.awaitCounter(4, n -> n > 8, Duration.ofSeconds(1)));
  }
}
