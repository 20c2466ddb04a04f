package io.lencap.core;

import io.lencap.api.ResourceType;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An operation in flight (a capture or a restore), recorded before anything is quiesced so that a later
 * process can finish its undo if this one dies; a capture records before commit every chunk its manifest
 * names, so that a collection in any process spares them.
 *
 * <p>It names members by id only: a repair re-binds them to the resources the application declares
 * ({@link Repair}), so nothing read from the store says what to run or where to write. Cut artefacts are
 * the drivers' own names, checked by the drivers. Records are authenticated ({@link RecordSeal}).
 *
 * @param checkpointId the checkpoint the capture writes, or the restore reads (pinned while it runs)
 */
record JournalRecord(String operationId, Kind kind, String encapsulation, String checkpointId, Owner owner,
    Instant startedAt, List<Member> members, Set<String> chunks) {

  /**
   * COPY: a sync copies the checkpoint (on the source: pins it; on the target: names its chunks). DRILL: a drill's
   * restore into its sandbox (pins the checkpoint; its members are the sandbox's, never the group's: nothing to repair).
   */
  enum Kind { CAPTURE, RESTORE, COPY, DRILL }

  /** The process that runs the operation. */
  record Owner(String host, long pid, Instant processStart) {}

  /**
   * A member as the repair needs it: what its cut left behind (captures), or whether its restore
   * completed (restores: a writer is resumed by a repair only when every storage member was restored).
   */
  record Member(String id, ResourceType type, Map<String, String> cutArtefacts, boolean restored) {
    Member {
      cutArtefacts = cutArtefacts == null ? Map.of() : Map.copyOf(cutArtefacts);
    }
  }

  JournalRecord {
    members = List.copyOf(members);
    chunks = chunks == null ? Set.of() : Set.copyOf(chunks);
  }

  static JournalRecord capture(String checkpointId, String encapsulation, Owner owner, Instant startedAt,
      List<Member> members) {
    return new JournalRecord(checkpointId, Kind.CAPTURE, encapsulation, checkpointId, owner, startedAt, members,
        Set.of());
  }

  static JournalRecord restore(String operationId, String encapsulation, String checkpointId, Owner owner,
      Instant startedAt, List<Member> members) {
    return new JournalRecord(operationId, Kind.RESTORE, encapsulation, checkpointId, owner, startedAt, members,
        Set.of());
  }

  /** A drill's restore into its sandbox ({@link DrillRun}): the group's name, and the sandbox's members. */
  static JournalRecord drill(String operationId, String encapsulation, String checkpointId, Owner owner,
      Instant startedAt, List<Member> members) {
    return new JournalRecord(operationId, Kind.DRILL, encapsulation, checkpointId, owner, startedAt, members,
        Set.of());
  }

  static JournalRecord copy(String operationId, String encapsulation, String checkpointId, Owner owner,
      Instant startedAt, Set<String> chunks) {
    return new JournalRecord(operationId, Kind.COPY, encapsulation, checkpointId, owner, startedAt, List.of(),
        chunks);
  }

  JournalRecord withMembers(List<Member> updated) {
    return new JournalRecord(operationId, kind, encapsulation, checkpointId, owner, startedAt, updated, chunks);
  }

  /** Every chunk the manifest about to be committed names: a collection must spare them. */
  JournalRecord withChunks(Set<String> ids) {
    return new JournalRecord(operationId, kind, encapsulation, checkpointId, owner, startedAt, members, ids);
  }

  Optional<Member> member(String id) {
    return members.stream().filter(m -> m.id().equals(id)).findFirst();
  }

  /** Whether the process is gone from this host (judged only for records of this host). */
  static boolean processGone(Owner o) {
    Optional<ProcessHandle> p = ProcessHandle.of(o.pid());
    return p.isEmpty() || !p.get().isAlive()
        || !p.get().info().startInstant().orElse(Instant.EPOCH).equals(o.processStart());
  }
}
