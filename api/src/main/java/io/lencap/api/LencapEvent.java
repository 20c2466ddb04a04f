package io.lencap.api;

import java.time.Instant;

/**
 * What a {@link LencapListener} hears: phase changes and transfer progress of captures and restores,
 * commits, failures and recoveries of protected groups, copies to a durable tier, and drills.
 */
public sealed interface LencapEvent permits LencapEvent.PhaseChanged, LencapEvent.Progress,
    LencapEvent.Committed, LencapEvent.FailureDetected, LencapEvent.Recovered, LencapEvent.Replicated,
    LencapEvent.ReplicationFailed, LencapEvent.Drilled {
  /** The encapsulation concerned. */
  String encapsulation();

  /** The checkpoint being captured or restored. */
  String checkpointId();

  /** A member (or the group, when {@code memberId} is null) entered or left a phase. */
  record PhaseChanged(String encapsulation, String checkpointId, String memberId, Phase phase,
      Status status, Instant at, String detail) implements LencapEvent {}

  /** Bytes moved so far for a member; {@code totalBytes} is -1 when unknown. */
  record Progress(String encapsulation, String checkpointId, String memberId, long bytesDone,
      long totalBytes, Instant at) implements LencapEvent {}

  /** A checkpoint was committed. */
  record Committed(String encapsulation, String checkpointId, Checkpoint checkpoint, Instant at)
      implements LencapEvent {}

  /** A member of a protected encapsulation failed (confirmed, not a flap). */
  record FailureDetected(String encapsulation, String checkpointId, Failure failure, Instant at)
      implements LencapEvent {}

  /** A protected encapsulation was restored after a failure; {@code checkpointId} is where it went back to. */
  record Recovered(String encapsulation, String checkpointId, Failure failure, int attempts, Placement placement,
      Instant at) implements LencapEvent {}

  /**
   * A checkpoint's copy arrived on the durable tier ({@link Lencap.Builder#durableStore}), verified: its
   * durability is now {@link Durability#REPLICATED}.
   */
  record Replicated(String encapsulation, String checkpointId, Instant at) implements LencapEvent {}

  /**
   * A checkpoint's copy to the durable tier failed: it stays {@link Durability#LOCAL} (and kept by the local
   * tier's retention), and is copied again on the group's next capture or {@link Lencap#repair}.
   *
   * @param reason what failed, as the exception said it
   */
  record ReplicationFailed(String encapsulation, String checkpointId, String reason, Instant at)
      implements LencapEvent {}

  /** A restore drill ({@link Lencap#drill}, or one a protection ran on its schedule) is done, passed or not. */
  record Drilled(String encapsulation, String checkpointId, DrillReport report, Instant at) implements LencapEvent {}

  /** Where a phase stands. */
  enum Status {
    STARTED, COMPLETED, FAILED
  }
}
