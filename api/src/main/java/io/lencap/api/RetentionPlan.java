package io.lencap.api;

import java.time.Instant;
import java.util.List;

/**
 * What a prune ({@link Lencap#prune}) of an encapsulation's checkpoints decided, or, for a dry run, would
 * decide: every checkpoint, oldest first, kept or removed, and why.
 *
 * @param encapsulation the encapsulation's name
 * @param retention the rules applied
 * @param dryRun whether nothing was deleted
 * @param decisions one per checkpoint, oldest first
 */
public record RetentionPlan(String encapsulation, Retention retention, boolean dryRun, List<Decision> decisions) {
  public RetentionPlan {
    decisions = List.copyOf(decisions);
  }

  /** Ids of the checkpoints kept, oldest first. */
  public List<String> kept() {
    return decisions.stream().filter(Decision::kept).map(Decision::checkpointId).toList();
  }

  /** Ids of the checkpoints removed (or, in a dry run, that would be), oldest first. */
  public List<String> removed() {
    return decisions.stream().filter(d -> !d.kept()).map(Decision::checkpointId).toList();
  }

  /**
   * One checkpoint's fate.
   *
   * @param checkpointId the checkpoint
   * @param time its recovery line, the time the rules count
   * @param kept whether it stays
   * @param reasons why it stays (each rule that keeps it, such as {@code daily 2026-11-30}, {@code last 2},
   *     {@code protected}, {@code read by a restore or sync}), or why it goes ({@code no rule keeps it})
   */
  public record Decision(String checkpointId, Instant time, boolean kept, List<String> reasons) {
    public Decision {
      reasons = List.copyOf(reasons);
    }
  }
}
