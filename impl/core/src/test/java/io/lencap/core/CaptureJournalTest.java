package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.ResourceType;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CaptureJournalTest {
  /** A journal in memory that can be told to fail its next writes. */
  private static final class Recorded implements Journal {
    final List<JournalRecord> written = new ArrayList<>();
    final List<String> forgotten = new ArrayList<>();
    boolean failing;

    @Override
    public void record(JournalRecord r) throws IOException {
      if (failing) {
        throw new IOException("store unreachable");
      }
      written.add(r);
    }

    @Override
    public void forget(String operationId) {
      forgotten.add(operationId);
    }

    JournalRecord last() {
      return written.get(written.size() - 1);
    }
  }

  private final Recorded store = new Recorded();
  private final CaptureJournal journal = new CaptureJournal(store);

  private static JournalRecord.Member member(String id, Map<String, String> artefacts) {
    return new JournalRecord.Member(id, ResourceType.VIRTUAL_MACHINE, artefacts, false);
  }

  private static JournalRecord first() {
    return JournalRecord.capture("cp1", "g", new JournalRecord.Owner("h", 1, Instant.EPOCH), Instant.EPOCH,
        List.of(member("vm", Map.of())));
  }

  @Test
  void aCaptureThatCannotWriteItsRecordFailsBeforeTouchingAnything() {
    store.failing = true;
    assertThrows(IOException.class, () -> journal.open(first()));
    assertFalse(journal.isOpen());
  }

  @Test
  void theCutsAreRecordedWithTheirArtefacts() throws IOException {
    journal.open(first());
    journal.recordCuts(List.of(member("vm", Map.of("overlay", "vda.cp1"))));

    assertEquals(2, store.written.size());
    assertEquals(Map.of("overlay", "vda.cp1"), store.last().member("vm").orElseThrow().cutArtefacts());
  }

  @Test
  void cutsRecordedLaterCompleteWhenWritten() throws IOException {
    journal.open(first());
    journal.recordCutsLater(Runnable::run, () -> List.of(member("vm", Map.of("overlay", "x"))));

    assertTrue(journal.cutsRecorded().isDone());
    assertEquals(Map.of("overlay", "x"), store.last().member("vm").orElseThrow().cutArtefacts());
  }

  @Test
  void cutsThatCannotBeRecordedDoNotFailTheCaptureAndTheCommitStillNamesThem() throws IOException {
    journal.open(first());
    store.failing = true;
    journal.recordCuts(List.of(member("vm", Map.of("overlay", "x")))); // logged, not thrown
    store.failing = false;
    journal.nameChunks(Set.of("c1", "c2"));

    assertEquals(Set.of("c1", "c2"), store.last().chunks());
    assertEquals(Map.of("overlay", "x"), store.last().member("vm").orElseThrow().cutArtefacts());
  }

  @Test
  void namingTheChunksFailsTheCommitWhenItCannotBeWritten() throws IOException {
    journal.open(first());
    store.failing = true;
    assertThrows(IOException.class, () -> journal.nameChunks(Set.of("c1")));
  }

  @Test
  void forgettingDeletesTheRecordOnlyIfOneWasWritten() throws IOException {
    journal.forget();
    assertEquals(List.of(), store.forgotten);

    journal.open(first());
    journal.forget();
    assertEquals(List.of("cp1"), store.forgotten);
  }
}
