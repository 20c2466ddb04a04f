package io.lencap.api;

import org.jspecify.annotations.Nullable;

/**
 * Stored checkpoint data failed verification (a chunk is missing or its hash differs). Nothing was
 * restored from it; restore an older checkpoint.
 */
public class CorruptCheckpointException extends LencapException {
  private static final long serialVersionUID = 1L;
  private final String checkpointId;
  private final String memberId;
  private final @Nullable String chunkId;

  public CorruptCheckpointException(String checkpointId, String memberId, String chunkId, String problem) {
    super("checkpoint " + checkpointId + ", member " + memberId + ", chunk " + chunkId + ": " + problem);
    this.checkpointId = checkpointId;
    this.memberId = memberId;
    this.chunkId = chunkId;
  }

  /** A problem of the checkpoint's structure (its entry list), not of one chunk: {@link #chunkId()} is null. */
  public CorruptCheckpointException(String checkpointId, String memberId, String problem) {
    super("checkpoint " + checkpointId + ", member " + memberId + ": " + problem);
    this.checkpointId = checkpointId;
    this.memberId = memberId;
    this.chunkId = null;
  }

  public String checkpointId() {
    return checkpointId;
  }

  public String memberId() {
    return memberId;
  }

  /** The bad chunk, or null when the problem is not one chunk's. */
  public @Nullable String chunkId() {
    return chunkId;
  }
}
