package io.lencap.spi;

import java.io.IOException;
import java.util.Map;

/**
 * Where a driver writes its member's state: named entries with attributes and content. Thread-safe:
 * several entries may be written at once from different threads. Writing an entry again under the
 * same path replaces it (a pre-copied file that changed before the cut).
 */
public interface StateSink {
  /** Starts an entry; write its content, then close it. */
  EntryWriter create(String path, EntryKind kind, Map<String, String> attributes, Chunking chunking)
      throws IOException;

  /** An entry without content: a directory or symlink. */
  default void entry(String path, EntryKind kind, Map<String, String> attributes) throws IOException {
    create(path, kind, attributes, Chunking.blocks()).close();
  }

  /** Adds an entry of the parent state unchanged (possibly under another path), reading nothing. */
  void reuse(StoredEntry entry);

  /** Drops an entry written earlier in this capture (a pre-copied file deleted before the cut). */
  void remove(String path);

  /** Member-level metadata (saved domain XML, LUN capacity), read back by {@link StoredState#attributes()}. */
  void attribute(String key, String value);

  /** Total bytes the driver expects to write, for progress events; unknown unless called. */
  void expectBytes(long total);
}
