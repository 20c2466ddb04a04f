package io.lencap.api;

/**
 * Decides where a failed group goes ({@link Reaction#RESTORE_ELSEWHERE}): the scheduler that embeds
 * Lencap knows its hosts. Called on Lencap's threads; may block briefly.
 */
@FunctionalInterface
public interface PlacementChooser {
  /**
   * @param failure what failed
   * @param checkpoint the checkpoint the group goes back to
   * @param attempt 1 for the first attempt, higher after a failed restore
   */
  Placement choose(Failure failure, Checkpoint checkpoint, int attempt);
}
