package io.lencap.api;

import java.util.List;

/**
 * What {@link Lencap#verify} found: every chunk of the checked checkpoints re-read and re-hashed.
 *
 * @param checkpoints ids of the checkpoints checked
 * @param chunksChecked distinct chunks read and hashed
 * @param problems every missing or corrupt chunk, empty when all is well
 */
public record VerifyReport(List<String> checkpoints, long chunksChecked, List<Problem> problems) {
  public VerifyReport {
    checkpoints = List.copyOf(checkpoints);
    problems = List.copyOf(problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }

  /** One bad chunk and where it is used. */
  public record Problem(String checkpointId, String memberId, String chunkId, String problem) {}
}
