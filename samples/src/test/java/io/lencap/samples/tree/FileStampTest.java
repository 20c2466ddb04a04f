package io.lencap.samples.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FileStampTest {
  private static final Instant T = Instant.parse("2026-11-22T03:00:00.000000001Z");
  private final FileStamp stamp = new FileStamp(10, FileTime.from(T), FileTime.from(T), "(dev=803,ino=7)", "rw-r--r--");

  @Test
  void aStampIsRacyUntilTheWindowHasPassed() {
    assertTrue(stamp.racy(T));
    assertTrue(stamp.racy(T.plusMillis(49)));
    assertFalse(stamp.racy(T.plus(FileStamp.RACY_WINDOW)));
    assertTrue(stamp.racy(T.minusSeconds(1)), "a time in the future of the copy is racy too");
  }

  @Test
  void aStoredStampIsTrustedOnlyWhenItWasSeenLateEnough() {
    assertEquals(Optional.of(stamp), FileStamp.trustedIn(entry(stamp.attributes(T.plusSeconds(1)))));
    assertEquals(Optional.empty(), FileStamp.trustedIn(entry(stamp.attributes(T.plusMillis(1)))));
    Map<String, String> noSeen = new HashMap<>(stamp.attributes(T.plusSeconds(1)));
    noSeen.remove(FileStamp.SEEN);
    assertEquals(Optional.empty(), FileStamp.trustedIn(entry(noSeen)), "an entry from another writer");
    Map<String, String> garbled = new HashMap<>(stamp.attributes(T.plusSeconds(1)));
    garbled.put(FileStamp.MTIME, "yesterday");
    assertEquals(Optional.empty(), FileStamp.trustedIn(entry(garbled)));
  }

  @Test
  void theChangeTimeIsPartOfTheStampAndRequiredToTrustIt() {
    FileStamp rewritten = new FileStamp(10, FileTime.from(T), FileTime.from(T.plusSeconds(5)), "(dev=803,ino=7)",
        "rw-r--r--");
    assertFalse(stamp.equals(rewritten), "same size and mtime, later ctime: a rewrite with the mtime put back");
    Map<String, String> noCtime = new HashMap<>(stamp.attributes(T.plusSeconds(1)));
    noCtime.remove(FileStamp.CTIME);
    assertEquals(Optional.empty(), FileStamp.trustedIn(entry(noCtime)), "an entry stored without a ctime");
  }

  private static StoredEntry entry(Map<String, String> attributes) {
    return new StoredEntry("f", EntryKind.FILE, 10, attributes, List.of());
  }
}
