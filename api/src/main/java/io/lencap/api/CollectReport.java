package io.lencap.api;

import java.time.Instant;
import java.util.Optional;

/**
 * What a collection of unused chunks ({@link Lencap#collect}) did.
 *
 * @param ran false when another collection was running on the store, so this one did nothing
 * @param deleted unused chunks deleted
 * @param skippedLocked unused chunks left because the storage retains them (S3 Object Lock): a collection
 *     after their date deletes them
 * @param lockedUntil the latest retain-until date of those, when there are any
 */
public record CollectReport(boolean ran, int deleted, int skippedLocked, Optional<Instant> lockedUntil) {
  public CollectReport {
    Check.present("lockedUntil", lockedUntil);
  }

  /** A collection that did not run: another was running on the store. */
  public static CollectReport notRun() {
    return new CollectReport(false, 0, 0, Optional.empty());
  }
}
