package io.lencap.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResourceType;
import io.lencap.spi.StoredEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A committed checkpoint as stored: JSON under {@code checkpoints/<encapsulation>/<id>}. Its presence
 * is the commit; it names every chunk the checkpoint needs.
 */
record Manifest(int format, String id, String encapsulation, String parent, CaptureMode mode,
    Instant startedAt, Instant recoveryLine, Instant committedAt, List<Member> members) {
  /** Format 1: every chunk stored whole. */
  static final int FORMAT = 1;
  /** Format 2: some chunks stored as deltas ({@link Member#deltas}); readers of format 1 cannot restore those. */
  static final int FORMAT_DELTAS = 2;
  /** Format 3: some chunks stored in packs ({@link Member#packs}); readers of formats 1 and 2 cannot restore those. */
  static final int FORMAT_PACKS = 3;
  /**
   * Format 4: some deltas apply to a chunk in a pack (listed in the member's {@link Member#packs}); readers of format 3
   * look for a base only in an object of its own.
   */
  static final int FORMAT_PACKED_BASES = 4;
  /** Format 5: some deltas are in packs ({@link Packed#base}); readers of format 4 read a packed chunk as whole. */
  static final int FORMAT_PACKED_DELTAS = 5;
  /** The newest format this version reads. */
  static final int NEWEST = FORMAT_PACKED_DELTAS;

  /**
   * One member's stored state and figures. Locator and properties, never secrets. {@code deltas} maps each of
   * its chunks that is stored as a {@link ChunkDelta} to the full chunk it applies to (absent before format 2):
   * what keeps the bases alive in a collection, and what a sync copies with them. {@code packs} maps each
   * {@link ChunkPacks pack} that holds some of its chunks to where they are in it (absent before format 3): every
   * chunk the member names that is stored in a pack is listed there.
   */
  record Member(String id, ResourceType type, String locator, Map<String, String> properties,
      String provider, long pauseNanos, long logicalBytes, long storedBytes, String method,
      List<String> notes, Map<String, String> attributes, List<StoredEntry> entries, Map<String, String> deltas,
      Map<String, List<Packed>> packs) {
    Member {
      deltas = deltas == null ? Map.of() : deltas;
      packs = packs == null ? Map.of() : packs;
    }

    /** Where each of its packed chunks is: chunk id to its slot. */
    Map<String, ChunkPacks.Slot> slots() {
      return ChunkPacks.slots(packs);
    }
  }

  /**
   * A chunk in a pack: its id, and its encoded bytes' offset and size in the pack. With a {@code base} (format 5),
   * those bytes are the chunk's {@link ChunkDelta} against that chunk, encoded as a delta stored alone would be.
   */
  record Packed(String id, long offset, int size, @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable String base) {
    Packed(String id, long offset, int size) {
      this(id, offset, size, null);
    }
  }

  /** The format a manifest of these members is written in: the oldest that can restore it. */
  static int formatOf(List<Member> members) {
    if (members.stream().anyMatch(m -> m.packs().values().stream().anyMatch(in -> in.stream().anyMatch(
        p -> p.base() != null)))) {
      return FORMAT_PACKED_DELTAS;
    }
    if (members.stream().anyMatch(m -> !m.packs().isEmpty() && m.deltas().values().stream().anyMatch(
        m.slots()::containsKey))) {
      return FORMAT_PACKED_BASES;
    }
    if (members.stream().anyMatch(m -> !m.packs().isEmpty())) {
      return FORMAT_PACKS;
    }
    return members.stream().anyMatch(m -> !m.deltas().isEmpty()) ? FORMAT_DELTAS : FORMAT;
  }

  Optional<Member> member(String memberId) {
    return members.stream().filter(m -> m.id().equals(memberId)).findFirst();
  }

  Checkpoint toCheckpoint() {
    return new Checkpoint(id, encapsulation, Optional.ofNullable(parent), mode, startedAt, recoveryLine,
        committedAt, members.stream().map(m -> new MemberCheckpoint(m.id(), m.type(), m.provider(),
            Duration.ofNanos(m.pauseNanos()), m.logicalBytes(), m.storedBytes(), m.method(), m.notes()))
            .toList());
  }
}
