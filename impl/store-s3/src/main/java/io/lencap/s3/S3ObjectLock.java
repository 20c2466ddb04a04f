package io.lencap.s3;

import io.lencap.spi.ObjectLock;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;

/**
 * S3 Object Lock retention of committed objects. A chunk shared by many checkpoints has its retain-until
 * date extended in place ({@code PutObjectRetention} on its newest version) rather than being put again:
 * a second put would store the bytes twice for the whole lock period (the old version stays locked), cost
 * the upload, and COMPLIANCE allows extension anyway. Dates are rounded up to the next whole day (UTC), so
 * that the commits of one day extend each shared chunk once, and this process remembers the dates it saw.
 */
final class S3ObjectLock implements ObjectLock {
  /** A retention mode and period, from the store options {@code lock.mode} and {@code lock.days}. */
  record Spec(ObjectLockRetentionMode mode, int days) {}

  private final S3Backend backend;
  private final Spec spec;
  private final Clock clock;
  private final Map<String, Instant> retained = new ConcurrentHashMap<>();

  S3ObjectLock(S3Backend backend, Spec spec, Clock clock) {
    this.backend = backend;
    this.spec = spec;
    this.clock = clock;
  }

  /** The date a retain now asks for: the lock period from now, rounded up to the next midnight UTC. */
  Instant until() {
    return clock.instant().plus(Duration.ofDays(spec.days())).truncatedTo(ChronoUnit.DAYS).plus(Duration.ofDays(1));
  }

  @Override
  public void retain(String key) throws IOException {
    Instant until = until();
    Instant known = retained.get(key);
    if (known != null && !known.isBefore(until)) {
      return;
    }
    HeadObjectResponse head = backend.headNewest(key)
        .orElseThrow(() -> new NoSuchFileException(backend.describe() + ": " + key + " is absent, cannot lock it"));
    Instant present = head.objectLockRetainUntilDate();
    if (present == null || present.isBefore(until)) {
      backend.putRetention(key, head.versionId(), spec.mode(), until);
      present = until;
    }
    retained.put(key, present);
  }

  /** Forgets what this process knows of a key's lock (it was deleted). */
  void forget(String key) {
    retained.remove(key);
  }

  @Override
  public String describe() {
    return spec.mode() + " for " + spec.days() + (spec.days() == 1 ? " day" : " days");
  }
}
