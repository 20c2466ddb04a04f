package io.lencap.core;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.VerifyReport;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads every chunk the checkpoints of a group name, once each, and verifies its hash; a bad chunk is
 * reported for every checkpoint and member that uses it, so that the user knows which checkpoints are
 * still restorable.
 */
final class StoreVerification {
  private StoreVerification() {}

  static VerifyReport verify(List<Manifest> manifests, ChunkStore chunks) throws IOException {
    Map<String, String> firstUse = new LinkedHashMap<>(); // chunk -> "checkpoint\0member"
    Map<String, ChunkRef> refs = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        for (StoredEntry e : member.entries()) {
          for (ChunkRef c : e.chunks()) {
            firstUse.putIfAbsent(c.id(), m.id() + "\0" + member.id());
            refs.putIfAbsent(c.id(), c);
          }
        }
      }
    }
    Set<String> bad = new HashSet<>();
    List<VerifyReport.Problem> problems = new ArrayList<>();
    for (ChunkRef ref : refs.values()) {
      String[] use = firstUse.get(ref.id()).split("\0", 2);
      try {
        chunks.read(ref, use[0], use[1]);
      } catch (CorruptCheckpointException e) {
        bad.add(ref.id());
        problems.add(new VerifyReport.Problem(use[0], use[1], ref.id(), e.getMessage()));
      }
    }
    // Name every other checkpoint and member that uses a bad chunk too.
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        member.entries().stream().flatMap(e -> e.chunks().stream()).map(ChunkRef::id).filter(bad::contains)
            .distinct().filter(id -> !firstUse.get(id).equals(m.id() + "\0" + member.id()))
            .forEach(id -> problems.add(new VerifyReport.Problem(m.id(), member.id(), id, "uses a bad chunk")));
      }
    }
    return new VerifyReport(manifests.stream().map(Manifest::id).toList(), refs.size(), problems);
  }
}
