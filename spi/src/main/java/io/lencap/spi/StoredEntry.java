package io.lencap.spi;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One entry of a member's stored state: a file, directory or symlink with its attributes and chunks.
 *
 * @param path a relative, '/'-separated path chosen by the provider; untrusted when read back
 * @param kind what it is
 * @param size content bytes (0 for directories and symlinks)
 * @param attributes provider-defined metadata (mode, owner, times, symlink {@code target}, ...)
 * @param chunks the content, in order, without gaps
 */
public record StoredEntry(String path, EntryKind kind, long size, Map<String, String> attributes,
    List<ChunkRef> chunks) {
  public StoredEntry {
    attributes = Map.copyOf(attributes);
    chunks = List.copyOf(chunks);
  }

  public Optional<String> attribute(String key) {
    return Optional.ofNullable(attributes.get(key));
  }
}
