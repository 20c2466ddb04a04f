package io.lencap.api;

/**
 * Stored checkpoint data failed verification (a chunk is missing or its hash differs). Nothing was
 * restored from it; restore an older checkpoint.
 */
public class CorruptCheckpointException extends LencapException {
  private static final long serialVersionUID = 1L;
  private final String checkpointId;
  private final String memberId;
  private final String chunkId;

  public CorruptCheckpointException(String checkpointId, String memberId, String chunkId, String problem) {
    super("checkpoint " + checkpointId + ", member " + memberId + ", chunk " + chunkId + ": " + problem);
    this.checkpointId = checkpointId;
    this.memberId = memberId;
    this.chunkId = chunkId;
  }

  public String checkpointId() {
    return checkpointId;
  }

  public String memberId() {
    return memberId;
  }

  public String chunkId() {
    return chunkId;
  }
}
