package io.lencap.samples.tree;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's entries, validated as untrusted input before anything is written: every path is
 * relative, '/'-separated, without empty, {@code .} or {@code ..} segments, and every entry's parent is a
 * directory of the checkpoint. So no entry can land outside the tree, directly or through a symlink (the
 * checkpoint's own or one already in the target: the restore replaces whatever sits where the checkpoint
 * has a directory). File contents must be whole: chunks in order, without gaps, adding up to the size.
 */
final class RestorePlan {
  private final Map<String, StoredEntry> byPath;
  private final List<StoredEntry> parentsFirst;

  private RestorePlan(Map<String, StoredEntry> byPath, List<StoredEntry> parentsFirst) {
    this.byPath = byPath;
    this.parentsFirst = parentsFirst;
  }

  /** Validates the state's entries; throws {@link CorruptCheckpointException} naming the first bad one. */
  static RestorePlan of(StoredState state, String checkpointId, String memberId) {
    Map<String, StoredEntry> byPath = new HashMap<>();
    for (StoredEntry e : state.entries()) {
      String problem = pathProblem(e.path());
      if (problem == null && byPath.putIfAbsent(e.path(), e) != null) {
        problem = "is stored twice";
      }
      if (problem == null) {
        problem = contentProblem(e);
      }
      if (problem != null) {
        throw refuse(checkpointId, memberId, e.path(), problem);
      }
    }
    for (StoredEntry e : byPath.values()) {
      int slash = e.path().lastIndexOf('/');
      if (slash < 0) {
        continue;
      }
      String parent = e.path().substring(0, slash);
      StoredEntry p = byPath.get(parent);
      if (p == null) {
        throw refuse(checkpointId, memberId, e.path(), "its parent directory '" + printable(parent)
            + "' is not in the checkpoint");
      }
      if (p.kind() != EntryKind.DIRECTORY) {
        throw refuse(checkpointId, memberId, e.path(), "its parent '" + printable(parent) + "' is a "
            + p.kind().name().toLowerCase(java.util.Locale.ROOT) + ", not a directory"
            + (p.kind() == EntryKind.SYMLINK ? " (writing through it could leave the tree)" : ""));
      }
    }
    List<StoredEntry> ordered = new ArrayList<>(byPath.values());
    ordered.sort(Comparator.comparing(StoredEntry::path)); // a parent's path sorts before its children's
    return new RestorePlan(Collections.unmodifiableMap(byPath), List.copyOf(ordered));
  }

  Map<String, StoredEntry> byPath() {
    return byPath;
  }

  /** Every entry, each parent before its children. */
  List<StoredEntry> parentsFirst() {
    return parentsFirst;
  }

  long fileBytes() {
    return parentsFirst.stream().filter(e -> e.kind() == EntryKind.FILE).mapToLong(StoredEntry::size).sum();
  }

  private static String pathProblem(String path) {
    if (path == null || path.isEmpty()) {
      return "is empty";
    }
    if (path.startsWith("/")) {
      return "is absolute";
    }
    if (path.indexOf('\0') >= 0) {
      return "contains a NUL character";
    }
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty()) {
        return "has an empty segment";
      }
      if (segment.equals("..")) {
        return "has a '..' segment";
      }
      if (segment.equals(".")) {
        return "has a '.' segment";
      }
    }
    if (path.equals(DirectoryTreeProvider.QUIESCE_MARKER)) {
      return "is the quiesce marker, which is never part of a tree's state";
    }
    return null;
  }

  private static String contentProblem(StoredEntry e) {
    if (e.kind() == EntryKind.SYMLINK) {
      String target = e.attributes().get(DirectoryTreeDriver.TARGET);
      if (target == null || target.isEmpty() || target.indexOf('\0') >= 0) {
        return "is a symlink without a valid '" + DirectoryTreeDriver.TARGET + "' attribute";
      }
    }
    if (e.kind() != EntryKind.FILE && (e.size() != 0 || !e.chunks().isEmpty())) {
      return "is a " + e.kind().name().toLowerCase(java.util.Locale.ROOT) + " with content";
    }
    long offset = 0;
    for (ChunkRef c : e.chunks()) {
      if (c.offset() != offset || c.length() <= 0) {
        return "has a chunk at offset " + c.offset() + " where " + offset + " was expected";
      }
      offset += c.length();
    }
    return offset == e.size() ? null : "has chunks adding up to " + offset + " bytes, not its size " + e.size();
  }

  private static CorruptCheckpointException refuse(String checkpointId, String memberId, String path,
      String problem) {
    return new CorruptCheckpointException(checkpointId, memberId, "-", "stored path '" + printable(path) + "' "
        + problem + "; refusing to restore anything from this checkpoint");
  }

  /** A path as it can be shown in a message: control characters escaped. */
  static String printable(String path) {
    if (path == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(path.length());
    path.codePoints().forEach(c -> {
      if (Character.isISOControl(c)) {
        sb.append(String.format("\\u%04x", c));
      } else {
        sb.appendCodePoint(c);
      }
    });
    return sb.toString();
  }
}
