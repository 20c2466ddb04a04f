package io.lencap.core;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.VerifyReport;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads every chunk the checkpoints of a group name, once each, and verifies its hash; a bad chunk is
 * reported for every checkpoint and member that uses it, so that the user knows which checkpoints are
 * still restorable.
 */
final class StoreVerification {
  private StoreVerification() {}

  static VerifyReport verify(List<Manifest> manifests, ChunkStore chunks) throws IOException {
    // A chunk is read once where it is stored: whole (or as a delta), or in each pack that holds it.
    Map<String, String> firstUse = new LinkedHashMap<>(); // where -> "checkpoint\0member"
    Map<String, ChunkRef> refs = new LinkedHashMap<>();
    Map<String, Map<String, ChunkPacks.Slot>> slots = new HashMap<>(); // where -> its member's packed chunks
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        Map<String, ChunkPacks.Slot> packed = member.slots();
        for (StoredEntry e : member.entries()) {
          for (ChunkRef c : e.chunks()) {
            String where = where(c.id(), packed.get(c.id()));
            if (firstUse.putIfAbsent(where, m.id() + "\0" + member.id()) == null) {
              refs.put(where, c);
              slots.put(where, packed);
            }
          }
        }
      }
    }
    Set<String> bad = new HashSet<>();
    List<VerifyReport.Problem> problems = new ArrayList<>();
    for (Map.Entry<String, ChunkRef> r : refs.entrySet()) {
      String[] use = firstUse.get(r.getKey()).split("\0", 2);
      try {
        chunks.read(r.getValue(), slots.get(r.getKey()), use[0], use[1]); // a delta's base too, where it is
      } catch (CorruptCheckpointException e) {
        bad.add(r.getKey());
        problems.add(new VerifyReport.Problem(use[0], use[1], r.getValue().id(), e.getMessage()));
      }
    }
    // Name every other checkpoint and member that uses a bad chunk too.
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        Map<String, ChunkPacks.Slot> packed = member.slots();
        member.entries().stream().flatMap(e -> e.chunks().stream()).map(c -> where(c.id(), packed.get(c.id())))
            .filter(bad::contains).distinct().filter(w -> !firstUse.get(w).equals(m.id() + "\0" + member.id()))
            .forEach(w -> problems.add(new VerifyReport.Problem(m.id(), member.id(), refs.get(w).id(),
                "uses a bad chunk")));
      }
    }
    return new VerifyReport(manifests.stream().map(Manifest::id).toList(),
        refs.values().stream().map(ChunkRef::id).distinct().count(), problems);
  }

  private static String where(String id, ChunkPacks.@Nullable Slot slot) {
    return slot == null ? id : id + "@" + slot.pack() + ":" + slot.offset();
  }
}
