package io.lencap.core;

import io.lencap.api.CheckpointDiff;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Compares two manifests entry by entry: an entry's content differs where a chunk of the newer one is not at
 * the same offset with the same id in the older one, its metadata where an attribute other than the access time
 * differs. Chunk ids are content names, so nothing is read.
 */
final class CheckpointComparison {
  static final String ACCESS_TIME = "atime";

  private CheckpointComparison() {}

  static CheckpointDiff compare(Manifest from, Manifest to) {
    List<CheckpointDiff.Member> members = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Manifest.Member m : to.members()) {
      seen.add(m.id());
      members.add(member(m.id(), from.member(m.id()).map(Manifest.Member::entries).orElse(List.of()), m.entries()));
    }
    for (Manifest.Member m : from.members()) {
      if (!seen.contains(m.id())) {
        members.add(member(m.id(), m.entries(), List.of()));
      }
    }
    return new CheckpointDiff(from.id(), to.id(), members);
  }

  private static CheckpointDiff.Member member(String id, List<StoredEntry> before, List<StoredEntry> after) {
    Map<String, StoredEntry> old = new LinkedHashMap<>();
    before.forEach(e -> old.put(e.path(), e));
    List<CheckpointDiff.Change> changes = new ArrayList<>();
    long bytes = 0;
    for (StoredEntry now : after) {
      StoredEntry was = old.remove(now.path());
      if (was == null) {
        changes.add(new CheckpointDiff.Change(now.path(), CheckpointDiff.Kind.ADDED, List.of()));
        bytes += now.size();
        continue;
      }
      List<CheckpointDiff.Extent> extents = extents(was, now);
      if (!extents.isEmpty() || was.kind() != now.kind() || was.size() != now.size()
          || !withoutAccessTime(was).equals(withoutAccessTime(now))) {
        changes.add(new CheckpointDiff.Change(now.path(), CheckpointDiff.Kind.CHANGED, extents));
        bytes += extents.stream().mapToLong(CheckpointDiff.Extent::length).sum();
      }
    }
    old.values().forEach(e -> changes.add(new CheckpointDiff.Change(e.path(), CheckpointDiff.Kind.REMOVED, List.of())));
    return new CheckpointDiff.Member(id, changes, bytes);
  }

  /** Reading a file is not changing it: the trees' {@code atime} attribute moves with every capture's read. */
  private static Map<String, String> withoutAccessTime(StoredEntry e) {
    Map<String, String> a = new java.util.HashMap<>(e.attributes());
    a.remove(ACCESS_TIME);
    return a;
  }

  private static List<CheckpointDiff.Extent> extents(StoredEntry was, StoredEntry now) {
    Set<String> kept = new HashSet<>();
    was.chunks().forEach(c -> kept.add(c.offset() + "/" + c.id()));
    List<CheckpointDiff.Extent> out = new ArrayList<>();
    for (ChunkRef c : now.chunks()) {
      if (kept.contains(c.offset() + "/" + c.id())) {
        continue;
      }
      Optional<CheckpointDiff.Extent> last = out.isEmpty() ? Optional.empty() : Optional.of(out.get(out.size() - 1));
      if (last.isPresent() && last.get().offset() + last.get().length() == c.offset()) {
        out.set(out.size() - 1, new CheckpointDiff.Extent(last.get().offset(), last.get().length() + c.length()));
      } else {
        out.add(new CheckpointDiff.Extent(c.offset(), c.length()));
      }
    }
    return out;
  }
}
