package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.spi.Discarder;
import io.lencap.spi.Health;
import io.lencap.spi.MemberRole;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Watcher;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One restore drill ({@link Lencap#drill}): checks the sandbox is apart from the group and that every member's
 * provider can remove what it restores, restores the checkpoint into the sandbox, probes each restored member with its
 * provider's watcher, runs the plan's check, removes the sandbox (writers before their storage) and publishes the
 * report as a {@link LencapEvent.Drilled}. Failures after the checks are the report's, not the future's. Every call
 * after the restore has a deadline, as a capture's calls do: a member's probe {@link #PROBE_LIMIT} (or the policy's
 * {@code phaseTimeout} when shorter), the check and each member's removal the policy's {@code phaseTimeout}; a call
 * past it is interrupted and fails the drill naming the member and phase ("member vm in discard took longer than
 * PT10M"), and the drill goes on with the next phase.
 */
final class DrillRun {
  private static final Logger log = LoggerFactory.getLogger(DrillRun.class);
  /** How long a restored member's probe may take before it counts as failed (less when the policy's phase timeout is). */
  static final Duration PROBE_LIMIT = Duration.ofMinutes(1);

  /** A drill's restore into its sandbox under its operation id, beside the group's own operations. */
  @FunctionalInterface
  interface SandboxRestore {
    CompletableFuture<Checkpoint> restore(Encapsulation group, String checkpointId, Placement sandbox,
        String operationId);
  }

  private final Lencap lencap;
  private final RunContext run;
  private final SandboxRestore restorer;
  private final String operationId;
  private final Encapsulation group;
  private final String checkpointId;
  private final DrillPlan plan;
  private final Map<String, Instant> restoreStarted = new ConcurrentHashMap<>();
  private final Map<String, Duration> restoreTook = new ConcurrentHashMap<>();
  /** The drill's own calls into providers and the plan's check, each with a time limit. */
  private final Tasks tasks;

  DrillRun(Lencap lencap, RunContext run, SandboxRestore restorer, String operationId, Encapsulation group,
      String checkpointId, DrillPlan plan) {
    this.lencap = lencap;
    this.run = run;
    this.restorer = restorer;
    this.operationId = operationId;
    this.group = group;
    this.checkpointId = checkpointId;
    this.plan = plan;
    this.tasks = new Tasks(run.executor(), run.timer());
  }

  /** The lease scope of a group's drills: one drill of a group at a time, apart from its captures and restores. */
  static String scope(String encapsulation) {
    return "_drill." + encapsulation;
  }

  CompletableFuture<DrillReport> start() {
    Map<String, Resource> sandbox;
    Map<String, Discarder> discarders;
    try {
      sandbox = DrillSandbox.of(group, plan.sandbox(), run.providers());
      discarders = plan.keep() ? Map.of() : discarders(sandbox);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return lencap.checkpoints(group.name()).thenCompose(all -> {
      if (all.stream().map(Checkpoint::id).noneMatch(checkpointId::equals)) {
        throw new NotFoundException("no checkpoint " + checkpointId + " of " + group.name()
            + "; list them with lencap list " + group.name());
      }
      return CompletableFuture.supplyAsync(this::lease, run.executor()).thenCompose(lease -> {
        CompletableFuture<DrillReport> drilled = restore(sandbox, discarders);
        drilled.whenComplete((r, e) -> lease.close());
        return drilled;
      });
    });
  }

  /**
   * The group's drill lease, held until the sandbox is removed: one drill of a group at a time (in any process), since
   * a second would restore into, or remove, the first one's sandbox. Its captures and restores do not take it.
   */
  private Leases.Lease lease() {
    try {
      return run.store().leases().acquire(scope(group.name()), operationId, "drill");
    } catch (Leases.HeldException e) {
      throw new io.lencap.api.LencapException("cannot drill " + group.name() + " now: " + e.getMessage()
          + " is running on it; drill when it has completed");
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot drill " + group.name(), e);
    }
  }

  /** Each sandbox member's discarder, asked before anything is restored so that a drill never leaves what it made. */
  private Map<String, Discarder> discarders(Map<String, Resource> sandbox) {
    Map<String, Discarder> out = new LinkedHashMap<>();
    for (Resource r : sandbox.values()) {
      ResourceProvider p = run.providers().providerFor(r);
      out.put(r.id(), p.discarder(r, run.providerContext()).orElseThrow(() -> new InvalidSpecException(
          "placement." + r.id(), "the " + p.name() + " provider cannot remove what it restores, so a drill cannot "
              + "clean up " + r.id() + "; keep the sandbox (DrillPlan.keep) and remove it yourself")));
    }
    return out;
  }

  private CompletableFuture<DrillReport> restore(Map<String, Resource> sandbox, Map<String, Discarder> discarders) {
    LencapListener timings = this::timing;
    run.events().add(timings);
    Instant started = run.clock().instant();
    long t0 = run.ticker().read();
    return restorer.restore(group, checkpointId, plan.sandbox(), operationId)
        .handle((cp, e) -> {
          run.events().remove(timings);
          return e == null ? Optional.<String>empty() : Optional.of(line(Failures.unwrap(e)));
        })
        .thenCompose(error -> {
          Duration restore = Duration.ofNanos(run.ticker().read() - t0);
          CompletableFuture<List<DrillReport.Member>> probed = error.isPresent()
              ? CompletableFuture.completedFuture(notRestored(sandbox))
              : probeAll(sandbox);
          return probed.thenCompose(ms -> {
            CompletableFuture<Optional<DrillReport.CheckResult>> checked =
                error.isEmpty() && ms.stream().allMatch(DrillReport.Member::passed) && plan.check().isPresent()
                    ? check(plan.check().get(), sandbox).thenApply(Optional::of)
                    : CompletableFuture.completedFuture(Optional.empty());
            return checked.thenCompose(check -> (plan.keep() ? CompletableFuture.completedFuture(List.<String>of())
                : discard(sandbox, discarders)).thenApplyAsync(left -> {
                  DrillReport report = new DrillReport(group.name(), checkpointId, started,
                      Duration.ofNanos(run.ticker().read() - t0), restore, error, ms, check, plan.keep(), left);
                  run.events().publish(new LencapEvent.Drilled(group.name(), checkpointId, report,
                      run.clock().instant()));
                  log.info("drill of {} at {}: {} (restore {} ms{})", group.name(), checkpointId,
                      report.passed() ? "passed" : "FAILED", restore.toMillis(), left.isEmpty() ? "" : ", left " + left);
                  return report;
                }, run.executor()));
          });
        });
  }

  private void timing(LencapEvent e) {
    if (e instanceof LencapEvent.PhaseChanged p && p.phase() == Phase.RESTORE && p.memberId() != null
        && p.encapsulation().equals(group.name())) {
      if (p.status() == LencapEvent.Status.STARTED) {
        restoreStarted.put(p.memberId(), p.at());
      } else if (p.status() == LencapEvent.Status.COMPLETED && restoreStarted.containsKey(p.memberId())) {
        restoreTook.put(p.memberId(), Duration.between(restoreStarted.get(p.memberId()), p.at()));
      }
    }
  }

  private static List<DrillReport.Member> notRestored(Map<String, Resource> sandbox) {
    return sandbox.keySet().stream().map(id -> new DrillReport.Member(id, false, Duration.ZERO, Duration.ZERO,
        "not probed: the restore failed")).toList();
  }

  /** Every member's probe at once (one never holds up another), each within {@link #probeLimit}. */
  private CompletableFuture<List<DrillReport.Member>> probeAll(Map<String, Resource> sandbox) {
    List<CompletableFuture<DrillReport.Member>> probes = new ArrayList<>();
    for (Resource r : sandbox.values()) {
      probes.add(probe(r));
    }
    return CompletableFuture.allOf(probes.toArray(CompletableFuture[]::new))
        .thenApply(v -> probes.stream().map(CompletableFuture::join).toList());
  }

  /** A restored member's probe may take {@link #PROBE_LIMIT}, or the policy's phase timeout when that is shorter. */
  private Duration probeLimit() {
    Duration phase = group.policy().phaseTimeout();
    return phase.compareTo(PROBE_LIMIT) < 0 ? phase : PROBE_LIMIT;
  }

  /** The member's probe; a probe that does not answer in time has its thread interrupted and fails the member. */
  private CompletableFuture<DrillReport.Member> probe(Resource r) {
    long t0 = run.ticker().read();
    return tasks.call("member " + r.id() + " in probe", probeLimit(), () -> {
      try (Watcher w = run.providers().providerFor(r).watch(r, run.providerContext())) {
        return w.probe();
      }
    }).result().handle((h, e) -> {
      Health health = e == null ? h : Health.failed(line(Failures.unwrap(e)));
      return new DrillReport.Member(r.id(), health.status() == Health.Status.HEALTHY,
          restoreTook.getOrDefault(r.id(), Duration.ZERO), Duration.ofNanos(run.ticker().read() - t0),
          health.status().name().toLowerCase(java.util.Locale.ROOT) + ": " + health.detail());
    });
  }

  /** The plan's check, within the policy's phase timeout (then its thread is interrupted and the check fails). */
  private CompletableFuture<DrillReport.CheckResult> check(DrillPlan.SandboxCheck check, Map<String, Resource> sandbox) {
    long t0 = run.ticker().read();
    Encapsulation.Builder b = Encapsulation.builder(group.name());
    sandbox.values().forEach(b::resource);
    b.policy(group.policy());
    Encapsulation restored = b.build();
    return tasks.call("the check of the sandbox", group.policy().phaseTimeout(), () -> check.check(restored))
        .result().handle((seen, e) -> new DrillReport.CheckResult(e == null,
            Duration.ofNanos(run.ticker().read() - t0), e == null ? seen : line(Failures.unwrap(e))));
  }

  /**
   * Removes the sandbox, writers (VMs) before the storage they write to, each removal within the policy's phase
   * timeout; completes with what could not be removed (a removal that timed out is named with its member).
   */
  private CompletableFuture<List<String>> discard(Map<String, Resource> sandbox, Map<String, Discarder> discarders) {
    List<Resource> order = new ArrayList<>(sandbox.values());
    order.sort(Comparator.comparing((Resource r) -> run.providers().role(r) == MemberRole.WRITER ? 0 : 1));
    List<String> left = new ArrayList<>();
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (Resource r : order) {
      chain = chain.thenCompose(v -> tasks.call("member " + r.id() + " in discard", group.policy().phaseTimeout(),
          () -> {
            discarders.get(r.id()).discard();
            return null;
          }).result().handle((x, e) -> {
            if (e != null) {
              synchronized (left) {
                left.add(r.id() + " at " + r.redactedLocator() + ": " + line(Failures.unwrap(e)));
              }
            }
            return null;
          }));
    }
    return chain.thenApply(v -> {
      synchronized (left) {
        return List.copyOf(left);
      }
    });
  }

  private static String line(Throwable e) {
    String m = e.getMessage();
    String text = m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    return text.replaceAll("\\s*\\R\\s*", " ");
  }
}
