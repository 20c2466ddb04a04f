package io.lencap.core;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal record of one capture. Written before any member is touched, so that a repair can resume them
 * if this process dies; updated with the cuts' artefacts, so that it can release them; updated with every
 * chunk of the manifest before commit, so that a collection spares them; forgotten when nothing is left to
 * repair. Updates are serialized: a later one never loses to an earlier one.
 */
final class CaptureJournal {
  private static final Logger log = LoggerFactory.getLogger(CaptureJournal.class);
  private final Journal journal;
  private JournalRecord record; // guarded by this
  /** The update with the cuts: forgetting the record must wait for it, or it would come back. */
  private volatile CompletableFuture<Void> cutsRecorded = CompletableFuture.completedFuture(null);

  CaptureJournal(Journal journal) {
    this.journal = journal;
  }

  /** Writes the first record; fails when it cannot, before anything was touched. */
  synchronized void open(JournalRecord first) throws IOException {
    journal.record(first);
    record = first;
  }

  synchronized boolean isOpen() {
    return record != null;
  }

  /**
   * Records the members with their cuts' artefacts. A failure is logged, not thrown: the capture goes on,
   * and a repair after a crash then finds no artefacts to release for it.
   */
  synchronized void recordCuts(List<JournalRecord.Member> members) {
    if (record == null) {
      return;
    }
    record = record.withMembers(members); // kept even if unwritten: the commit's update extends it
    try {
      journal.record(record);
    } catch (IOException e) {
      log.warn("could not record the cuts of {} in the journal: {}", record.operationId(), e.toString());
    }
  }

  /** Records the cuts on {@code executor}, as {@link #cutsRecorded()} then says. */
  void recordCutsLater(Executor executor, Supplier<List<JournalRecord.Member>> members) {
    cutsRecorded = CompletableFuture.runAsync(() -> recordCuts(members.get()), executor);
  }

  /** Completes when the last {@link #recordCutsLater} has; exceptionally if it could not run. */
  CompletableFuture<Void> cutsRecorded() {
    return cutsRecorded;
  }

  /** Names every chunk of the manifest about to be committed: a collection from now on spares them. */
  synchronized void nameChunks(Set<String> ids) throws IOException {
    record = record.withChunks(ids);
    journal.record(record);
  }

  /** Deletes the record, if one was written. */
  synchronized void forget() throws IOException {
    if (record != null) {
      journal.forget(record.operationId());
    }
  }
}
