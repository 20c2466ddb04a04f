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
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One restore drill ({@link Lencap#drill}): checks the sandbox is apart from the group and that every member's
 * provider can remove what it restores, restores the checkpoint into the sandbox, probes each restored member with its
 * provider's watcher, runs the plan's check, removes the sandbox (writers before their storage) and publishes the
 * report as a {@link LencapEvent.Drilled}. Failures after the checks are the report's, not the future's.
 */
final class DrillRun {
  private static final Logger log = LoggerFactory.getLogger(DrillRun.class);
  /** How long a restored member's probe may take before it counts as failed. */
  static final Duration PROBE_LIMIT = Duration.ofMinutes(1);

  private final Lencap lencap;
  private final RunContext run;
  private final Encapsulation group;
  private final String checkpointId;
  private final DrillPlan plan;
  private final Map<String, Instant> restoreStarted = new ConcurrentHashMap<>();
  private final Map<String, Duration> restoreTook = new ConcurrentHashMap<>();

  DrillRun(Lencap lencap, RunContext run, Encapsulation group, String checkpointId, DrillPlan plan) {
    this.lencap = lencap;
    this.run = run;
    this.group = group;
    this.checkpointId = checkpointId;
    this.plan = plan;
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
      return restore(sandbox, discarders);
    });
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
    return lencap.restore(group, checkpointId, plan.sandbox())
        .handle((cp, e) -> {
          run.events().remove(timings);
          return e == null ? Optional.<String>empty() : Optional.of(line(Failures.unwrap(e)));
        })
        .thenCompose(error -> {
          Duration restore = Duration.ofNanos(run.ticker().read() - t0);
          CompletableFuture<List<DrillReport.Member>> members = error.isPresent()
              ? CompletableFuture.completedFuture(notRestored(sandbox))
              : probeAll(sandbox);
          return members.thenApplyAsync(ms -> {
            Optional<DrillReport.CheckResult> check = error.isEmpty() && ms.stream().allMatch(DrillReport.Member::passed)
                ? plan.check().map(c -> check(c, sandbox)) : Optional.empty();
            List<String> left = plan.keep() ? List.of() : discard(sandbox, discarders);
            if (error.isPresent()) {
              forgetSandboxRecords(started);
            }
            DrillReport report = new DrillReport(group.name(), checkpointId, started, Duration.ofNanos(run.ticker().read() - t0), restore, error, ms, check,
                plan.keep(), left);
            run.events().publish(new LencapEvent.Drilled(group.name(), checkpointId, report, run.clock().instant()));
            log.info("drill of {} at {}: {} (restore {} ms{})", group.name(), checkpointId,
                report.passed() ? "passed" : "FAILED", restore.toMillis(), left.isEmpty() ? "" : ", left " + left);
            return report;
          }, run.executor());
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

  /** Every member's probe at once (one never holds up another), each within {@link #PROBE_LIMIT}. */
  private CompletableFuture<List<DrillReport.Member>> probeAll(Map<String, Resource> sandbox) {
    List<CompletableFuture<DrillReport.Member>> probes = new ArrayList<>();
    for (Resource r : sandbox.values()) {
      probes.add(probe(r));
    }
    return CompletableFuture.allOf(probes.toArray(CompletableFuture[]::new))
        .thenApply(v -> probes.stream().map(CompletableFuture::join).toList());
  }

  private CompletableFuture<DrillReport.Member> probe(Resource r) {
    long t0 = run.ticker().read();
    CompletableFuture<Health> call = CompletableFuture.supplyAsync(() -> {
      try (Watcher w = run.providers().providerFor(r).watch(r, run.providerContext())) {
        return w.probe();
      } catch (Exception e) {
        return Health.failed(line(e));
      }
    }, run.executor());
    CompletableFuture<Health> answer = new CompletableFuture<>();
    call.thenAccept(answer::complete);
    ScheduledFuture<?> deadline = run.timer().schedule(() -> {
      answer.complete(Health.failed("no answer to its probe within " + PROBE_LIMIT.toSeconds() + " s"));
      call.cancel(true);
    }, PROBE_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
    return answer.thenApply(h -> {
      deadline.cancel(false);
      return new DrillReport.Member(r.id(), h.status() == Health.Status.HEALTHY,
          restoreTook.getOrDefault(r.id(), Duration.ZERO), Duration.ofNanos(run.ticker().read() - t0),
          h.status().name().toLowerCase(java.util.Locale.ROOT) + ": " + h.detail());
    });
  }

  private DrillReport.CheckResult check(DrillPlan.SandboxCheck check, Map<String, Resource> sandbox) {
    long t0 = run.ticker().read();
    Encapsulation.Builder b = Encapsulation.builder(group.name());
    sandbox.values().forEach(b::resource);
    b.policy(group.policy());
    try {
      String seen = check.check(b.build());
      return new DrillReport.CheckResult(true, Duration.ofNanos(run.ticker().read() - t0), seen);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return new DrillReport.CheckResult(false, Duration.ofNanos(run.ticker().read() - t0), line(e));
    }
  }

  /** Removes the sandbox, writers (VMs) before the storage they write to; returns what could not be removed. */
  private List<String> discard(Map<String, Resource> sandbox, Map<String, Discarder> discarders) {
    List<Resource> order = new ArrayList<>(sandbox.values());
    order.sort(Comparator.comparing((Resource r) -> run.providers().role(r) == MemberRole.WRITER ? 0 : 1));
    List<String> left = new ArrayList<>();
    for (Resource r : order) {
      try {
        discarders.get(r.id()).discard();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        left.add(r.id() + " at " + r.redactedLocator() + ": " + line(e));
      }
    }
    return left;
  }

  /**
   * Forgets the journal record a failed restore into the sandbox keeps for repair: it names the group's members by
   * id, and repair would take the sandbox's torn state for the group's and hold the group's writers paused.
   */
  private void forgetSandboxRecords(Instant started) {
    try {
      for (JournalRecord r : run.store().journal()) {
        if (r.kind() == JournalRecord.Kind.RESTORE && r.encapsulation().equals(group.name())
            && r.checkpointId().equals(checkpointId) && r.owner().equals(run.owner())
            && !r.startedAt().isBefore(started) && !run.store().leases().isLive(r.encapsulation(), r.operationId())) {
          run.store().forget(r.operationId());
          run.store().leases().forget(r.encapsulation(), r.operationId());
        }
      }
    } catch (IOException e) {
      log.warn("drill of {}: could not forget the record of its failed restore into the sandbox: {}", group.name(),
          e.toString());
    }
  }

  private static String line(Throwable e) {
    String m = e.getMessage();
    String text = m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    return text.replaceAll("\\s*\\R\\s*", " ");
  }
}
