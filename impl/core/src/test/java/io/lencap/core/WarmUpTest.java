package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Lencap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The warm-up runs the real protocol on a synthetic member and leaves nothing behind. */
class WarmUpTest {
  @TempDir Path dir;

  @Test
  void aWarmUpCapturesTwiceRestoresChecksEveryByteAndDeletesItsStore() throws Exception {
    Path parent = Files.createDirectories(dir.resolve("tmp"));
    // Completes only if its restore gave back every byte its captures took (else it fails, naming the entry).
    WarmUp.start(parent).get(5, TimeUnit.MINUTES);
    try (Stream<Path> left = Files.list(parent)) {
      assertEquals(List.of(), left.toList(), "the warm-up's temporary store was left behind");
    }
  }

  @Test
  void theInstancesOwnStoreIsNotTouched() throws Exception {
    try (Lencap lencap = Lencap.builder().store(dir.resolve("store")).build()) {
      lencap.warmUp().get(5, TimeUnit.MINUTES);
      assertEquals(List.of(), lencap.encapsulations().join());
    }
  }
}
