package io.lencap.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a restore drill ({@link Lencap#drill}) found. A drill that ran reports its failures here rather than
 * completing exceptionally: a restore that failed, a member whose probe did not find it healthy, a check that threw,
 * or a sandbox that could not be removed all make {@link #passed()} false.
 *
 * @param encapsulation the group drilled
 * @param checkpointId the checkpoint restored into the sandbox
 * @param started when the drill's restore started
 * @param took how long the whole drill took: restore, probes, check and removal
 * @param restore how long the restore of the whole group took
 * @param restoreError why the restore failed, in one line; empty when it succeeded
 * @param members each member's restore time, probe and verdict, in the group's order
 * @param check the plan's check, when there was one and the restore succeeded
 * @param kept whether the plan kept the sandbox ({@link DrillPlan#keep})
 * @param left what of the sandbox could not be removed, one line each; empty when all of it is gone or it was kept
 */
public record DrillReport(String encapsulation, String checkpointId, Instant started, Duration took, Duration restore,
    Optional<String> restoreError, List<Member> members, Optional<CheckResult> check, boolean kept,
    List<String> left) {

  public DrillReport {
    members = List.copyOf(members);
    left = List.copyOf(left);
  }

  /**
   * One member in the sandbox.
   *
   * @param restore how long its restore took (zero when it was not restored)
   * @param probe how long its provider's probe took
   * @param detail what the probe saw, or why the member was not probed
   */
  public record Member(String id, boolean passed, Duration restore, Duration probe, String detail) {}

  /** The plan's check: whether it passed, how long it took, and what it returned or why it threw. */
  public record CheckResult(boolean passed, Duration took, String detail) {}

  /** The restore succeeded, every member probed healthy, the check passed and the sandbox is gone (or kept). */
  public boolean passed() {
    return restoreError.isEmpty() && !members.isEmpty() && members.stream().allMatch(Member::passed)
        && check.map(CheckResult::passed).orElse(true) && left.isEmpty();
  }

  /** Whether the sandbox was removed completely: false when kept or when something was left. */
  public boolean removed() {
    return !kept && left.isEmpty();
  }
}
