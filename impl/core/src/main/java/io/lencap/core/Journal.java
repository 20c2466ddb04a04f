package io.lencap.core;

import java.io.IOException;

/** The store's intent journal as operations write it: one record per operation in flight. */
interface Journal {
  /** Writes (or replaces) the operation's record. */
  void record(JournalRecord r) throws IOException;

  /** Deletes the operation's record: nothing is left to repair. */
  void forget(String operationId) throws IOException;
}
