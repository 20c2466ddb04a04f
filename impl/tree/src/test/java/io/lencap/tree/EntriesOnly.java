package io.lencap.tree;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A stored state of entries and attributes only, for checks that must not read content. */
final class EntriesOnly implements StoredState {
  private final Map<String, String> attributes;
  private final List<StoredEntry> entries;

  EntriesOnly(Map<String, String> attributes, List<StoredEntry> entries) {
    this.attributes = attributes;
    this.entries = entries;
  }

  @Override
  public String checkpointId() {
    return "cp";
  }

  @Override
  public Map<String, String> attributes() {
    return attributes;
  }

  @Override
  public List<StoredEntry> entries() {
    return entries;
  }

  @Override
  public Optional<StoredEntry> entry(String path) {
    return entries.stream().filter(e -> e.path().equals(path)).findFirst();
  }

  @Override
  public ByteBuffer read(ChunkRef chunk) {
    throw new AssertionError("the check reads no content");
  }

  @Override
  public InputStream open(StoredEntry entry) {
    throw new AssertionError("the check reads no content");
  }

  @Override
  public boolean matches(ChunkRef chunk, ByteBuffer content) {
    throw new AssertionError("the check reads no content");
  }
}
