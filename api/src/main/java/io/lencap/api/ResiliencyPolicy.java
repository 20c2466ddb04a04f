package io.lencap.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * How an encapsulation is protected: capture mode, how long members may stay paused, how much
 * history to keep. Immutable; {@link #defaults()} or {@link #builder()}, and {@link #toBuilder()} to
 * derive a variant. Each value may be set once per builder.
 */
public final class ResiliencyPolicy {
  private static final ResiliencyPolicy DEFAULTS = builder().build();

  private final CaptureMode mode;
  private final Duration pauseBudget;
  private final Duration pauseGrace;
  private final Duration phaseTimeout;
  private final Retention retention;
  private final int transferConcurrency;
  private final @Nullable Duration checkpointInterval;
  private final @Nullable Duration meanTimeBetweenFailures;
  private final Reaction onFailure;
  private final int maxRestoreAttempts;
  private final Duration restoreBackoff;
  private final Duration probeInterval;
  private final Duration failureConfirmation;
  private final @Nullable DrillSchedule drills;

  private ResiliencyPolicy(Builder b, @Nullable Retention retention) {
    this.mode = b.mode == null ? CaptureMode.NON_BLOCKING : b.mode;
    this.pauseBudget = b.pauseBudget == null ? Duration.ofSeconds(30) : b.pauseBudget;
    this.pauseGrace = b.pauseGrace == null ? Duration.ofSeconds(5) : b.pauseGrace;
    this.phaseTimeout = b.phaseTimeout == null ? Duration.ofMinutes(10) : b.phaseTimeout;
    this.retention = retention == null ? Retention.keepAll() : retention;
    this.transferConcurrency = b.transferConcurrency == null ? 4 : b.transferConcurrency;
    this.checkpointInterval = b.checkpointInterval;
    this.meanTimeBetweenFailures = b.meanTimeBetweenFailures;
    this.onFailure = b.onFailure == null ? Reaction.NOTIFY : b.onFailure;
    this.maxRestoreAttempts = b.maxRestoreAttempts == null ? 3 : b.maxRestoreAttempts;
    this.restoreBackoff = b.restoreBackoff == null ? Duration.ofSeconds(5) : b.restoreBackoff;
    this.probeInterval = b.probeInterval == null ? Duration.ofSeconds(5) : b.probeInterval;
    this.failureConfirmation = b.failureConfirmation == null ? Duration.ofSeconds(3) : b.failureConfirmation;
    this.drills = b.drills;
  }

  public static ResiliencyPolicy defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.mode = mode;
    b.pauseBudget = pauseBudget;
    b.pauseGrace = pauseGrace;
    b.phaseTimeout = phaseTimeout;
    b.retention = retention;
    b.transferConcurrency = transferConcurrency;
    b.checkpointInterval = checkpointInterval;
    b.meanTimeBetweenFailures = meanTimeBetweenFailures;
    b.onFailure = onFailure;
    b.maxRestoreAttempts = maxRestoreAttempts;
    b.restoreBackoff = restoreBackoff;
    b.probeInterval = probeInterval;
    b.failureConfirmation = failureConfirmation;
    b.drills = drills;
    b.derived = true;
    return b;
  }

  /** {@link CaptureMode#NON_BLOCKING} unless set. */
  public CaptureMode mode() {
    return mode;
  }

  /**
   * The longest a member may stay quiesced during a capture (30 s unless set). A capture that needs
   * longer is aborted and every member resumed.
   */
  public Duration pauseBudget() {
    return pauseBudget;
  }

  /**
   * Extra time after the pause budget before the watchdog resumes a member on its own, even if the
   * capture is stuck in a provider call (5 s unless set).
   */
  public Duration pauseGrace() {
    return pauseGrace;
  }

  /** The longest any one phase of one member may take outside the pause (10 min unless set). */
  public Duration phaseTimeout() {
    return phaseTimeout;
  }

  /** How many committed checkpoints to keep: {@code retention().keepLast()}. 0 keeps all. */
  public int keepLast() {
    return retention.keepLast();
  }

  /**
   * Which committed checkpoints to keep, applied after each commit (checkpoints no rule keeps are deleted
   * and their chunks collected). {@link Retention#keepAll()} unless set.
   */
  public Retention retention() {
    return retention;
  }

  /** How many members transfer into the store at once (4 unless set). */
  public int transferConcurrency() {
    return transferConcurrency;
  }

  /** A fixed interval between scheduled captures of a protected encapsulation. */
  public Optional<Duration> checkpointInterval() {
    return Optional.ofNullable(checkpointInterval);
  }

  /**
   * The group's mean time between failures: the interval is then Young/Daly's optimum from it and the
   * measured capture cost, re-estimated as the cost changes.
   */
  public Optional<Duration> meanTimeBetweenFailures() {
    return Optional.ofNullable(meanTimeBetweenFailures);
  }

  /** What to do when a member of a protected encapsulation fails ({@link Reaction#NOTIFY} unless set). */
  public Reaction onFailure() {
    return onFailure;
  }

  /** Restore attempts after one failure before giving up (3 unless set). */
  public int maxRestoreAttempts() {
    return maxRestoreAttempts;
  }

  /** Wait before the second restore attempt, doubled for each further one (5 s unless set). */
  public Duration restoreBackoff() {
    return restoreBackoff;
  }

  /** How often members of a protected encapsulation are probed (5 s unless set). */
  public Duration probeInterval() {
    return probeInterval;
  }

  /**
   * How long a failure must persist before it counts: a member that recovers within it (a brief
   * pause) triggers nothing (3 s unless set).
   */
  public Duration failureConfirmation() {
    return failureConfirmation;
  }

  /** When a protection drills a restore of the group into a sandbox; empty (the default) for never. */
  public Optional<DrillSchedule> drills() {
    return Optional.ofNullable(drills);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ResiliencyPolicy p && mode == p.mode && pauseBudget.equals(p.pauseBudget)
        && pauseGrace.equals(p.pauseGrace) && phaseTimeout.equals(p.phaseTimeout) && retention.equals(p.retention)
        && transferConcurrency == p.transferConcurrency
        && Objects.equals(checkpointInterval, p.checkpointInterval)
        && Objects.equals(meanTimeBetweenFailures, p.meanTimeBetweenFailures) && onFailure == p.onFailure
        && maxRestoreAttempts == p.maxRestoreAttempts && restoreBackoff.equals(p.restoreBackoff)
        && probeInterval.equals(p.probeInterval) && failureConfirmation.equals(p.failureConfirmation)
        && Objects.equals(drills, p.drills);
  }

  @Override
  public int hashCode() {
    return Objects.hash(mode, pauseBudget, pauseGrace, phaseTimeout, retention, transferConcurrency,
        checkpointInterval, meanTimeBetweenFailures, onFailure, maxRestoreAttempts, restoreBackoff, probeInterval,
        failureConfirmation, drills);
  }

  @Override
  public String toString() {
    return "ResiliencyPolicy{mode=" + mode + ", pauseBudget=" + pauseBudget + ", pauseGrace=" + pauseGrace
        + ", phaseTimeout=" + phaseTimeout + ", retention=" + retention + ", transferConcurrency="
        + transferConcurrency + ", checkpointInterval=" + checkpointInterval
        + ", meanTimeBetweenFailures=" + meanTimeBetweenFailures + ", onFailure=" + onFailure
        + ", maxRestoreAttempts=" + maxRestoreAttempts + ", restoreBackoff=" + restoreBackoff
        + ", probeInterval=" + probeInterval + ", failureConfirmation=" + failureConfirmation + (drills == null ? "" : ", drills=" + drills) + "}";
  }

  /** Collects a policy's values; each may be set once (a builder from {@code toBuilder()} may override). */
  public static final class Builder {
    private @Nullable CaptureMode mode;
    private @Nullable Duration pauseBudget;
    private @Nullable Duration pauseGrace;
    private @Nullable Duration phaseTimeout;
    private @Nullable Integer keepLast;
    private @Nullable Retention retention;
    private @Nullable Integer transferConcurrency;
    private @Nullable Duration checkpointInterval;
    private @Nullable Duration meanTimeBetweenFailures;
    private @Nullable Reaction onFailure;
    private @Nullable Integer maxRestoreAttempts;
    private @Nullable Duration restoreBackoff;
    private @Nullable Duration probeInterval;
    private @Nullable Duration failureConfirmation;
    private @Nullable DrillSchedule drills;
    private boolean derived;

    private Builder() {}

    public Builder mode(CaptureMode mode) {
      once("policy.mode", this.mode);
      this.mode = Check.present("policy.mode", mode);
      return this;
    }

    public Builder pauseBudget(Duration budget) {
      once("policy.pauseBudget", pauseBudget);
      this.pauseBudget = Check.positive("policy.pauseBudget", budget);
      return this;
    }

    public Builder pauseGrace(Duration grace) {
      once("policy.pauseGrace", pauseGrace);
      this.pauseGrace = Check.positive("policy.pauseGrace", grace);
      return this;
    }

    public Builder phaseTimeout(Duration timeout) {
      once("policy.phaseTimeout", phaseTimeout);
      this.phaseTimeout = Check.positive("policy.phaseTimeout", timeout);
      return this;
    }

    public Builder keepLast(int count) {
      once("policy.keepLast", keepLast);
      if (count < 0) {
        throw new InvalidSpecException("policy.keepLast", "must be 0 (keep all) or more, was " + count);
      }
      this.keepLast = count;
      return this;
    }

    /** The retention rules; {@code keepLast(n)} alone is short for {@code Retention.builder().keepLast(n)}. */
    public Builder retention(Retention retention) {
      if (derived) {
        keepLast = null;
      } else {
        Check.unset("policy.retention", this.retention);
      }
      this.retention = Check.present("policy.retention", retention);
      return this;
    }

    public Builder transferConcurrency(int members) {
      once("policy.transferConcurrency", transferConcurrency);
      if (members < 1) {
        throw new InvalidSpecException("policy.transferConcurrency", "must be at least 1, was " + members);
      }
      this.transferConcurrency = members;
      return this;
    }


    public Builder checkpointInterval(Duration interval) {
      once("policy.checkpointInterval", checkpointInterval);
      this.checkpointInterval = Check.positive("policy.checkpointInterval", interval);
      return this;
    }

    public Builder meanTimeBetweenFailures(Duration mtbf) {
      once("policy.meanTimeBetweenFailures", meanTimeBetweenFailures);
      this.meanTimeBetweenFailures = Check.positive("policy.meanTimeBetweenFailures", mtbf);
      return this;
    }

    public Builder onFailure(Reaction reaction) {
      once("policy.onFailure", onFailure);
      this.onFailure = Check.present("policy.onFailure", reaction);
      return this;
    }

    public Builder maxRestoreAttempts(int attempts) {
      once("policy.maxRestoreAttempts", maxRestoreAttempts);
      if (attempts < 1) {
        throw new InvalidSpecException("policy.maxRestoreAttempts", "must be at least 1, was " + attempts);
      }
      this.maxRestoreAttempts = attempts;
      return this;
    }

    public Builder restoreBackoff(Duration backoff) {
      once("policy.restoreBackoff", restoreBackoff);
      this.restoreBackoff = Check.positive("policy.restoreBackoff", backoff);
      return this;
    }

    public Builder probeInterval(Duration interval) {
      once("policy.probeInterval", probeInterval);
      this.probeInterval = Check.positive("policy.probeInterval", interval);
      return this;
    }

    public Builder failureConfirmation(Duration window) {
      once("policy.failureConfirmation", failureConfirmation);
      this.failureConfirmation = Check.positive("policy.failureConfirmation", window);
      return this;
    }

    /** Drills under a protection: restores into a sandbox on this schedule (see {@link DrillSchedule}). */
    public Builder drills(DrillSchedule schedule) {
      once("policy.drills", drills);
      this.drills = Check.present("policy.drills", schedule);
      return this;
    }

    public ResiliencyPolicy build() {
      if (checkpointInterval != null && meanTimeBetweenFailures != null) {
        throw new InvalidSpecException("policy.checkpointInterval",
            "set a fixed checkpointInterval or a meanTimeBetweenFailures to compute it from, not both");
      }
      Retention effective = retention;
      if (keepLast != null) {
        if (retention != null && !derived) {
          throw new InvalidSpecException("policy.keepLast", "set keepLast inside policy.retention, not both");
        }
        effective = (retention == null ? Retention.builder() : retention.toBuilder()).keepLast(keepLast).build();
      }
      return new ResiliencyPolicy(this, effective);
    }

    private void once(String field, @Nullable Object current) {
      if (!derived) {
        Check.unset(field, current);
      }
    }
  }
}
