package io.lencap.api;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * How {@link Lencap#drill} tests a restore: the sandbox placement that moves every member away from the group (a
 * new domain name with its own {@code restore.directory}, another directory, export path or LUN), an optional check
 * of the restored sandbox, and whether to keep the sandbox afterwards.
 *
 * <pre>{@code
 * DrillPlan plan = DrillPlan.builder()
 *     .sandbox(Placement.builder()
 *         .move("rank0", URI.create("qemu:///system"), Map.of("domain", "rank0-drill",
 *             "restore.directory", "/var/lib/lencap/drill"))
 *         .move("data", URI.create("file:///var/lib/lencap/drill/data"))
 *         .build())
 *     .check(sandbox -> "job answered")   // throws to fail
 *     .build();
 * }</pre>
 */
public final class DrillPlan {
  /**
   * A check of the restored sandbox after every member's probe, such as a job's own consistency test: it returns
   * what it saw, and throws to fail the drill (the exception's message is reported). Runs on Lencap's executor.
   */
  @FunctionalInterface
  public interface SandboxCheck {
    /**
     * @param sandbox the group as restored: the same members, at their sandbox locators and properties
     * @return one line on what was seen
     */
    String check(Encapsulation sandbox) throws Exception;
  }

  private final Placement sandbox;
  private final @Nullable SandboxCheck check;
  private final boolean keep;

  private DrillPlan(Builder b) {
    this.sandbox = Check.present("sandbox", b.sandbox);
    this.check = b.check;
    this.keep = b.keep;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Where each member is restored; a drill refuses a placement that leaves any member where the group is. */
  public Placement sandbox() {
    return sandbox;
  }

  public Optional<SandboxCheck> check() {
    return Optional.ofNullable(check);
  }

  /** Whether the sandbox stays after the drill (to look at it); by default it is removed. */
  public boolean keep() {
    return keep;
  }

  @Override
  public String toString() {
    return "DrillPlan[sandbox=" + sandbox + (check == null ? "" : ", check") + (keep ? ", keep" : "") + "]";
  }

  /** Builds a {@link DrillPlan}; each value may be set once. */
  public static final class Builder {
    private @Nullable Placement sandbox;
    private @Nullable SandboxCheck check;
    private boolean keep;
    private boolean keepSet;

    private Builder() {}

    /** Required: a placement moving every member of the group into the sandbox. */
    public Builder sandbox(Placement sandbox) {
      Check.unset("sandbox", this.sandbox);
      this.sandbox = Check.present("sandbox", sandbox);
      return this;
    }

    public Builder check(SandboxCheck check) {
      Check.unset("check", this.check);
      this.check = Check.present("check", check);
      return this;
    }

    public Builder keep(boolean keep) {
      if (keepSet) {
        throw new InvalidSpecException("keep", "is already set");
      }
      this.keep = keep;
      this.keepSet = true;
      return this;
    }

    public DrillPlan build() {
      return new DrillPlan(this);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DrillPlan p && p.sandbox.equals(sandbox) && Objects.equals(p.check, check) && p.keep == keep;
  }

  @Override
  public int hashCode() {
    return Objects.hash(sandbox, check, keep);
  }
}
