package io.lencap.core;

import io.lencap.api.ResiliencyPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a protected encapsulation is captured next: at the policy's fixed interval, or at the interval
 * that minimises expected lost work given the group's MTBF M and the capture cost C — Daly's
 * higher-order estimate (2006) of Young's sqrt(2CM): sqrt(2CM)(1 + sqrt(C/2M)/3 + (C/2M)/9) - C for
 * C < 2M, else M. C is what a capture costs the group: its pause, averaged over recent captures.
 */
final class CheckpointSchedule {
  /** Weight of the newest cost in the running estimate. */
  private static final double NEWEST = 0.5;

  private final ResiliencyPolicy policy;
  private Duration cost;

  CheckpointSchedule(ResiliencyPolicy policy) {
    this.policy = policy;
  }

  /** Records a capture's measured cost; the interval follows it. */
  synchronized void measured(Duration captureCost) {
    Duration c = captureCost.isZero() ? Duration.ofNanos(1) : captureCost;
    cost = cost == null ? c : Duration.ofNanos((long) (NEWEST * c.toNanos() + (1 - NEWEST) * cost.toNanos()));
  }

  synchronized Optional<Duration> cost() {
    return Optional.ofNullable(cost);
  }

  /**
   * The interval in force; empty when captures are not scheduled, or when it is computed from the MTBF
   * and no capture has been measured yet (capture once now, then compute).
   */
  synchronized Optional<Duration> interval() {
    if (policy.checkpointInterval().isPresent()) {
      return policy.checkpointInterval();
    }
    if (policy.meanTimeBetweenFailures().isEmpty() || cost == null) {
      return Optional.empty();
    }
    return Optional.of(daly(cost, policy.meanTimeBetweenFailures().get()));
  }

  boolean scheduled() {
    return policy.checkpointInterval().isPresent() || policy.meanTimeBetweenFailures().isPresent();
  }

  /** When the capture after one that started at {@code lastStart} is due (now, when none is measured yet). */
  Instant nextAfter(Instant lastStart, Instant now) {
    return interval().map(lastStart::plus).orElse(now);
  }

  static Duration daly(Duration cost, Duration mtbf) {
    double c = cost.toNanos() / 1e9;
    double m = mtbf.toNanos() / 1e9;
    if (c >= 2 * m) {
      return mtbf;
    }
    double r = c / (2 * m);
    double tau = Math.sqrt(2 * c * m) * (1 + Math.sqrt(r) / 3 + r / 9) - c;
    return Duration.ofNanos((long) (tau * 1e9));
  }
}
