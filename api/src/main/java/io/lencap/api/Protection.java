package io.lencap.api;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A protected encapsulation: captured on a schedule, watched, and restored as a whole when a member
 * fails, as its policy says. Close it to stop watching and scheduling (checkpoints stay).
 */
public interface Protection extends AutoCloseable {
  Encapsulation encapsulation();

  /** The interval in force: the policy's fixed one, or Young/Daly's from the measured cost and the MTBF. */
  Optional<Duration> interval();

  /** The newest checkpoint this protection committed or found. */
  Optional<Checkpoint> lastCheckpoint();

  /**
   * Captures now, outside the schedule (never two at once: joins the one under way). When the policy drills
   * ({@link ResiliencyPolicy#drills}) and this capture makes a drill due, completes once that drill is done.
   */
  CompletableFuture<Checkpoint> captureNow();

  @Override
  void close();
}
