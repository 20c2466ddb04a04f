package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Failure;
import io.lencap.api.FailureKind;
import io.lencap.api.LencapEvent;
import io.lencap.api.Placement;
import io.lencap.api.PlacementChooser;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.Resource;
import io.lencap.spi.Health;
import io.lencap.spi.Watcher;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Protects one encapsulation: captures it on its schedule, watches its members (provider signals and
 * periodic probes), confirms a suspected failure after the policy's window (a brief pause is not a
 * failure), and reacts by restoring the whole group to its last checkpoint, with bounded attempts and
 * backoff. While it restores, it neither captures nor listens (the restore itself stops and starts VMs).
 */
final class Protector implements Protection {
  private static final Logger log = LoggerFactory.getLogger(Protector.class);

  private enum State {
    WATCHING, RESTORING, CLOSED
  }

  private final Engine engine;
  private final RunContext run;
  private final PlacementChooser chooser;
  private final CheckpointSchedule schedule;
  private final Optional<ProtectionDrills> drills;
  private final Set<String> suspected = ConcurrentHashMap.newKeySet();
  /** When the failure being handled was first suspected: checkpoints after it may hold the failed state. */
  private volatile Instant failureSuspectedAt;
  private final List<AutoCloseable> watches = new ArrayList<>();
  private final Map<String, Watcher> watchers = new ConcurrentHashMap<>();
  private volatile Encapsulation encapsulation;
  private volatile State state = State.WATCHING;
  private volatile Checkpoint last;
  private volatile CompletableFuture<Checkpoint> capturing;
  private volatile ScheduledFuture<?> nextCapture;
  private volatile ScheduledFuture<?> probes;
  /** Each member's probe call still running, if any: one at a time per member, however long it blocks. */
  private final Map<String, ProbeCall> probeCalls = new ConcurrentHashMap<>();

  Protector(Engine engine, Encapsulation encapsulation, PlacementChooser chooser) {
    this.engine = engine;
    this.run = engine.context();
    this.encapsulation = encapsulation;
    this.chooser = chooser;
    this.schedule = new CheckpointSchedule(encapsulation.policy());
    this.drills = encapsulation.policy().drills().map(d -> new ProtectionDrills(engine, encapsulation, d, run.providers(), run.clock()));
  }

  void start() {
    try {
      List<Checkpoint> existing = engine.checkpoints(encapsulation.name()).join();
      if (!existing.isEmpty()) {
        last = existing.get(existing.size() - 1);
      }
    } catch (RuntimeException e) {
      log.warn("protecting {}: cannot list its checkpoints yet: {}", encapsulation.name(), e.toString());
    }
    watch();
    long probeNanos = encapsulation.policy().probeInterval().toNanos();
    probes = run.timer().scheduleWithFixedDelay(this::probeAll, probeNanos, probeNanos, TimeUnit.NANOSECONDS);
    scheduleCapture(Instant.EPOCH);
  }

  @Override
  public Encapsulation encapsulation() {
    return encapsulation;
  }

  @Override
  public Optional<Duration> interval() {
    return schedule.interval();
  }

  @Override
  public Optional<Checkpoint> lastCheckpoint() {
    return Optional.ofNullable(last);
  }

  @Override
  public synchronized CompletableFuture<Checkpoint> captureNow() {
    CompletableFuture<Checkpoint> running = capturing;
    if (running != null && !running.isDone()) {
      return running;
    }
    Instant started = run.clock().instant();
    CompletableFuture<Checkpoint> f = engine.capture(encapsulation);
    f.whenComplete((cp, e) -> {
      if (cp != null) {
        last = cp;
        schedule.measured(cp.pause());
        // A drill restores into its sandbox beside the group's operations: the next capture never waits for it.
        drills.ifPresent(d -> d.afterCapture(encapsulation, cp));
      } else {
        log.warn("scheduled capture of {} failed: {}", encapsulation.name(), Failures.unwrap(e).toString());
      }
    });
    capturing = f;
    f.whenComplete((cp, e) -> {
      if (state == State.WATCHING) {
        scheduleCapture(started);
      }
    });
    return f;
  }

  private void scheduleCapture(Instant lastStart) {
    if (!schedule.scheduled() || state != State.WATCHING) {
      return;
    }
    Instant now = run.clock().instant();
    long delay = Math.max(0, Duration.between(now, schedule.nextAfter(lastStart, now)).toNanos());
    ScheduledFuture<?> previous = nextCapture;
    if (previous != null) {
      previous.cancel(false);
    }
    nextCapture = run.timer().schedule(() -> run.executor().execute(this::scheduledCapture), delay,
        TimeUnit.NANOSECONDS);
  }

  /** A scheduled capture waits while a member is suspected: a failed state must not become the recovery line. */
  private void scheduledCapture() {
    if (!suspected.isEmpty()) {
      log.info("postponing the scheduled capture of {}: {} suspected", encapsulation.name(), suspected);
      scheduleCapture(run.clock().instant().minus(schedule.interval().orElse(Duration.ZERO))
          .plus(encapsulation.policy().failureConfirmation()));
      return;
    }
    captureNow();
  }

  // ---- detection ----

  private synchronized void watch() {
    for (Resource r : encapsulation.resources()) {
      try {
        Watcher w = run.providers().providerFor(r).watch(r, run.providerContext());
        watchers.put(r.id(), w);
        watches.add(w.subscribe(s -> onSignal(r.id(), s)));
      } catch (Exception e) {
        log.warn("cannot watch {} of {}: {}", r.id(), encapsulation.name(), e.toString());
      }
    }
  }

  private synchronized void unwatch() {
    for (AutoCloseable w : watches) {
      closeQuietly(w);
    }
    watches.clear();
    watchers.values().forEach(Protector::closeQuietly);
    watchers.clear();
  }

  private void onSignal(String memberId, Watcher.Signal s) {
    // A recovery suspects nothing: the confirmation probe decides.
    s.failure().ifPresent(kind -> suspect(memberId, kind, s.detail()));
  }

  private void probeAll() {
    if (state != State.WATCHING) {
      return;
    }
    for (String memberId : watchers.keySet()) {
      probe(memberId).thenAccept(h -> {
        if (h.status() != Health.Status.HEALTHY) {
          suspect(memberId, FailureKind.UNREACHABLE, h.detail());
        }
      });
    }
  }

  /**
   * The member's health, as its watcher answers within the confirmation window, else failed: a probe that
   * blocks (a remote host whose link is cut) neither holds up the other members' probes nor hides the
   * failure. A member has one probe call at a time: while it runs, later rounds share its answer, and once
   * it is past the window the member is failed at once.
   */
  private CompletableFuture<Health> probe(String memberId) {
    Watcher w = watchers.get(memberId);
    if (w == null) {
      return CompletableFuture.completedFuture(Health.failed("not watched"));
    }
    Duration limit = encapsulation.policy().failureConfirmation();
    ProbeCall running = probeCalls.get(memberId);
    if (running != null && !running.answer().isDone()) {
      return running.answer();
    }
    if (running != null && !running.call().isDone()) {
      return CompletableFuture.completedFuture(Health.failed("no answer to a probe within " + limit));
    }
    CompletableFuture<Health> call = CompletableFuture.supplyAsync(() -> {
      try {
        return w.probe();
      } catch (Exception e) {
        return Health.failed(e.toString());
      }
    }, run.executor());
    CompletableFuture<Health> answer = new CompletableFuture<>();
    probeCalls.put(memberId, new ProbeCall(call, answer));
    call.thenAccept(answer::complete);
    ScheduledFuture<?> deadline = run.timer().schedule(
        () -> answer.complete(Health.failed("no answer to a probe within " + limit)), limit.toNanos(),
        TimeUnit.NANOSECONDS);
    answer.whenComplete((h, e) -> deadline.cancel(false));
    return answer;
  }

  /** A watcher's probe call and its answer, which the confirmation window bounds. */
  private record ProbeCall(CompletableFuture<Health> call, CompletableFuture<Health> answer) {}

  /** A failure counts only if it is still there after the confirmation window. */
  private void suspect(String memberId, FailureKind kind, String detail) {
    if (state != State.WATCHING || !suspected.add(memberId)) {
      return;
    }
    Instant suspectedAt = run.clock().instant();
    log.info("{} of {} suspected {}: {}", memberId, encapsulation.name(), kind, detail);
    run.timer().schedule(() -> probe(memberId).thenAcceptAsync(h -> {
      suspected.remove(memberId);
      if (state != State.WATCHING) {
        return;
      }
      if (h.status() == Health.Status.HEALTHY) {
        log.info("{} of {} recovered within the confirmation window: no failure", memberId, encapsulation.name());
        return;
      }
      failed(new Failure(encapsulation.name(), memberId, kind, detail + "; then " + h.detail(),
          run.clock().instant()), suspectedAt);
    }, run.executor()), encapsulation.policy().failureConfirmation().toNanos(), TimeUnit.NANOSECONDS);
  }

  // ---- reaction ----

  private synchronized void failed(Failure f, Instant suspectedAt) {
    if (state != State.WATCHING) {
      return;
    }
    failureSuspectedAt = suspectedAt;
    log.warn("{} of {} failed: {} ({})", f.memberId(), f.encapsulation(), f.kind(), f.detail());
    run.events().publish(new LencapEvent.FailureDetected(f.encapsulation(), last == null ? null : last.id(), f,
        f.detectedAt()));
    Reaction reaction = encapsulation.policy().onFailure();
    if (reaction == Reaction.NOTIFY) {
      return;
    }
    state = State.RESTORING;
    if (nextCapture != null) {
      nextCapture.cancel(false);
    }
    CompletableFuture<Checkpoint> running = capturing;
    if (running != null) {
      running.cancel(true);
    }
    unwatch();
    attempt(f, 1);
  }

  private void attempt(Failure f, int n) {
    if (state == State.CLOSED) {
      return;
    }
    // The member may have failed up to one probe before it was suspected: go back to a recovery line
    // before that, not to a checkpoint that may hold the failed state.
    Instant safe = failureSuspectedAt.minus(encapsulation.policy().probeInterval());
    engine.checkpoints(encapsulation.name()).whenComplete((all, listing) -> {
      if (listing != null) {
        retry(f, n, Failures.unwrap(listing));
        return;
      }
      Checkpoint target = all.stream().filter(c -> c.recoveryLine().isBefore(safe)).reduce((a, b) -> b).orElse(null);
      if (target == null) {
        log.error("{} failed but has no checkpoint from before the failure to go back to", encapsulation.name());
        resumeWatching();
        return;
      }
      Placement placement = encapsulation.policy().onFailure() == Reaction.RESTORE_ELSEWHERE && chooser != null
          ? chooser.choose(f, target, n) : Placement.inPlace();
      engine.restore(encapsulation, target.id(), placement).whenComplete((cp, e) -> {
        if (e != null) {
          retry(f, n, Failures.unwrap(e));
          return;
        }
        encapsulation = moved(placement);
        last = cp;
        log.info("{} restored to {} after {} attempt(s)", encapsulation.name(), cp.id(), n);
        run.events().publish(new LencapEvent.Recovered(encapsulation.name(), cp.id(), f, n, placement,
            run.clock().instant()));
        resumeWatching();
      });
    });
  }

  /** The group after a move: each member at its placement. */
  private Encapsulation moved(Placement placement) {
    Encapsulation.Builder b = Encapsulation.builder(encapsulation.name()).policy(encapsulation.policy());
    for (Resource r : encapsulation.resources()) {
      b.resource(placement.apply(r));
    }
    return b.build();
  }

  private void retry(Failure f, int n, Throwable e) {
    if (n >= encapsulation.policy().maxRestoreAttempts()) {
      log.error("giving up restoring {} after {} attempts: {}", encapsulation.name(), n, e.toString());
      resumeWatching();
      return;
    }
    long backoff = encapsulation.policy().restoreBackoff().toNanos() << Math.min(20, n - 1);
    log.warn("restore attempt {} of {} failed ({}); retrying in {} ms", n, encapsulation.name(), e.toString(),
        backoff / 1_000_000);
    run.timer().schedule(() -> run.executor().execute(() -> attempt(f, n + 1)), backoff, TimeUnit.NANOSECONDS);
  }

  private synchronized void resumeWatching() {
    if (state == State.CLOSED) {
      return;
    }
    state = State.WATCHING;
    suspected.clear();
    watch();
    scheduleCapture(run.clock().instant());
  }

  // ---- lifecycle ----

  /** Stops watching and scheduling; the protection stays recorded in the store (process shutdown). */
  synchronized void stop() {
    state = State.CLOSED;
    if (nextCapture != null) {
      nextCapture.cancel(false);
    }
    if (probes != null) {
      probes.cancel(false);
    }
    unwatch();
  }

  /** Unprotects: stops, and forgets the protection so that the next process does not resume it. */
  @Override
  public void close() {
    stop();
    engine.unprotect(this);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      log.debug("closing {}: {}", c, e.toString());
    }
  }
}
