package io.lencap.api;

import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which checkpoints of an encapsulation to keep, with the semantics of restic's {@code forget} and
 * Proxmox Backup's prune: {@code keepLast(n)} keeps the newest n; each calendar rule ({@code keepHourly},
 * {@code keepDaily}, {@code keepWeekly} by ISO week, {@code keepMonthly}, {@code keepYearly}) keeps the
 * newest checkpoint of each of the newest n periods that have one, periods counted in {@link #zone()}. The
 * rules are independent: a checkpoint any rule keeps stays. Protected checkpoints ({@link
 * Lencap#setProtected}) and those a restore is reading always stay. A checkpoint's time is its recovery
 * line. All counts 0 (the default) keeps everything.
 *
 * <p>Immutable: {@link #builder()}, {@link #toBuilder()}; each value may be set once per builder.
 */
public final class Retention {
  private static final Retention KEEP_ALL = builder().build();

  private final int keepLast;
  private final int keepHourly;
  private final int keepDaily;
  private final int keepWeekly;
  private final int keepMonthly;
  private final int keepYearly;
  private final ZoneId zone;

  private Retention(Builder b) {
    this.keepLast = b.keepLast == null ? 0 : b.keepLast;
    this.keepHourly = b.keepHourly == null ? 0 : b.keepHourly;
    this.keepDaily = b.keepDaily == null ? 0 : b.keepDaily;
    this.keepWeekly = b.keepWeekly == null ? 0 : b.keepWeekly;
    this.keepMonthly = b.keepMonthly == null ? 0 : b.keepMonthly;
    this.keepYearly = b.keepYearly == null ? 0 : b.keepYearly;
    this.zone = b.zone == null ? ZoneOffset.UTC : b.zone;
  }

  /** Keeps every checkpoint. */
  public static Retention keepAll() {
    return KEEP_ALL;
  }

  public static Builder builder() {
    return new Builder(false);
  }

  public Builder toBuilder() {
    Builder b = new Builder(true);
    b.keepLast = keepLast;
    b.keepHourly = keepHourly;
    b.keepDaily = keepDaily;
    b.keepWeekly = keepWeekly;
    b.keepMonthly = keepMonthly;
    b.keepYearly = keepYearly;
    b.zone = zone;
    return b;
  }

  /** The newest n checkpoints. */
  public int keepLast() {
    return keepLast;
  }

  /** The newest checkpoint of each of the newest n hours that have one. */
  public int keepHourly() {
    return keepHourly;
  }

  /** The newest checkpoint of each of the newest n days that have one. */
  public int keepDaily() {
    return keepDaily;
  }

  /** The newest checkpoint of each of the newest n ISO weeks (Monday to Sunday) that have one. */
  public int keepWeekly() {
    return keepWeekly;
  }

  /** The newest checkpoint of each of the newest n months that have one. */
  public int keepMonthly() {
    return keepMonthly;
  }

  /** The newest checkpoint of each of the newest n years that have one. */
  public int keepYearly() {
    return keepYearly;
  }

  /** The time zone whose hours, days, weeks, months and years the calendar rules count (UTC unless set). */
  public ZoneId zone() {
    return zone;
  }

  /** Whether no rule is set, so that every checkpoint stays. */
  public boolean keepsAll() {
    return keepLast == 0 && keepHourly == 0 && keepDaily == 0 && keepWeekly == 0 && keepMonthly == 0
        && keepYearly == 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Retention r && keepLast == r.keepLast && keepHourly == r.keepHourly
        && keepDaily == r.keepDaily && keepWeekly == r.keepWeekly && keepMonthly == r.keepMonthly
        && keepYearly == r.keepYearly && zone.equals(r.zone);
  }

  @Override
  public int hashCode() {
    return Objects.hash(keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly, zone);
  }

  @Override
  public String toString() {
    return "Retention{keepLast=" + keepLast + ", keepHourly=" + keepHourly + ", keepDaily=" + keepDaily
        + ", keepWeekly=" + keepWeekly + ", keepMonthly=" + keepMonthly + ", keepYearly=" + keepYearly
        + ", zone=" + zone + "}";
  }

  /** Collects the rules; each may be set once (a builder from {@code toBuilder()} may override). */
  public static final class Builder {
    private @Nullable Integer keepLast;
    private @Nullable Integer keepHourly;
    private @Nullable Integer keepDaily;
    private @Nullable Integer keepWeekly;
    private @Nullable Integer keepMonthly;
    private @Nullable Integer keepYearly;
    private @Nullable ZoneId zone;
    private final boolean derived;

    private Builder(boolean derived) {
      this.derived = derived;
    }

    public Builder keepLast(int count) {
      keepLast = count("retention.keepLast", keepLast, count);
      return this;
    }

    public Builder keepHourly(int hours) {
      keepHourly = count("retention.keepHourly", keepHourly, hours);
      return this;
    }

    public Builder keepDaily(int days) {
      keepDaily = count("retention.keepDaily", keepDaily, days);
      return this;
    }

    public Builder keepWeekly(int weeks) {
      keepWeekly = count("retention.keepWeekly", keepWeekly, weeks);
      return this;
    }

    public Builder keepMonthly(int months) {
      keepMonthly = count("retention.keepMonthly", keepMonthly, months);
      return this;
    }

    public Builder keepYearly(int years) {
      keepYearly = count("retention.keepYearly", keepYearly, years);
      return this;
    }

    public Builder zone(ZoneId zone) {
      if (!derived) {
        Check.unset("retention.zone", this.zone);
      }
      this.zone = Check.present("retention.zone", zone);
      return this;
    }

    public Retention build() {
      return new Retention(this);
    }

    private int count(String field, @Nullable Integer current, int value) {
      if (!derived) {
        Check.unset(field, current);
      }
      if (value < 0) {
        throw new InvalidSpecException(field, "must be 0 (rule off) or more, was " + value);
      }
      return value;
    }
  }
}
