package io.lencap.core;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.Cut;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One capture of one encapsulation, the protocol of DESIGN.md: prepare all; quiesce by levels, writers
 * first; cut all (the recovery line); resume by levels, storage first (a member whose cut is not live
 * is transferred before it resumes, from as soon as it is cut, and its dependents wait); transfer the
 * rest in the background; commit the manifest; release the cuts (a cut whose release does not depend
 * on the commit, as soon as it is transferred). Any failure, timeout, exceeded pause budget or
 * cancellation aborts: every quiesced member is resumed, every cut released, nothing committed.
 *
 * <p>The pause budget and watchdogs are {@link PauseBudget}'s, the journal record {@link CaptureJournal}'s,
 * the member calls {@link MemberCalls}'.
 */
final class CaptureRun {
  private static final Logger log = LoggerFactory.getLogger(CaptureRun.class);

  private final RunContext run;
  private final Encapsulation encapsulation;
  private final ResiliencyPolicy policy;
  private final String checkpointId;
  private final Instant startedAt;
  /** By type until set-up knows the providers (an abort before then has no members to order). */
  private volatile Order order;
  private final Map<String, CaptureMember> members = new LinkedHashMap<>();
  private final Tasks work;
  private final Tasks cleanup;
  private final MemberCalls calls;
  private final PauseBudget budget;
  private final CaptureJournal journal;
  /** Small chunks of every member, packed together: written out before the commit. */
  private final ChunkPacks packs;
  /** The parents' chunks the members' drivers just read, shared so that the group's heap holds a bounded amount. */
  private final RecentChunks recent;
  private final AtomicBoolean aborted = new AtomicBoolean();
  private final Result result = new Result();
  private final CompletableFuture<Void> settled = new CompletableFuture<>();
  private volatile Instant recoveryLine;
  private volatile Manifest parent;
  private volatile String generation;
  private volatile Leases.Lease lease;
  /** Completes the result once, at the end of the undo or at the abort's deadline, whichever comes first. */
  private final AtomicBoolean completed = new AtomicBoolean();
  /** Set before the manifest may be written: an abort from then on takes a manifest that made it back. */
  private volatile boolean commitStarted;
  private volatile boolean committed;
  private volatile CompletableFuture<Void> commitReturned = CompletableFuture.completedFuture(null);

  /** Runs just before the result completes, so that whoever sees the result sees its effects. */
  private final Runnable beforeCompletion;

  CaptureRun(RunContext run, Encapsulation encapsulation, String checkpointId, Runnable beforeCompletion) {
    this.beforeCompletion = beforeCompletion;
    this.run = run;
    this.encapsulation = encapsulation;
    this.policy = encapsulation.policy();
    this.checkpointId = checkpointId;
    this.startedAt = run.clock().instant();
    this.order = new Order(encapsulation);
    this.work = new Tasks(run.executor(), run.timer());
    this.cleanup = new Tasks(run.resumePool(), run.timer());
    this.calls = new MemberCalls(run.events(), work, cleanup, encapsulation.name(), checkpointId,
        policy.phaseTimeout());
    this.budget = new PauseBudget(policy.pauseBudget(), policy.pauseGrace(), run.ticker(), run.scheduler());
    this.journal = new CaptureJournal(run.store());
    this.packs = new ChunkPacks(run.store().chunks(), run.storePool());
    this.recent = new RecentChunks();
  }

  /** The capture's future: cancelling it aborts the capture, and it completes once all is undone. */
  private final class Result extends CompletableFuture<Checkpoint> {
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (isDone()) {
        return false; // committed (or already undone): nothing to cancel
      }
      abort(new CancellationException("capture of " + encapsulation.name() + " cancelled"));
      return true;
    }

    void cancelled(CancellationException e) {
      super.cancel(false);
    }
  }

  /** Completes when everything is undone or released, which may be after the result (a member hung). */
  CompletableFuture<Void> settled() {
    return settled;
  }

  /** The capture's future, before or after {@link #start()}. */
  CompletableFuture<Checkpoint> result() {
    return result;
  }

  CompletableFuture<Checkpoint> start() {
    // Store calls are bounded like provider calls: a store that hangs cannot hold a capture forever.
    work.call("capture " + checkpointId + " of " + encapsulation.name() + " setting up in the store",
            policy.phaseTimeout(), () -> {
              setUp();
              return null;
            }).result()
        .thenCompose(v -> MemberCalls.forAll(all(), m -> call(m, Phase.PREPARE, policy.phaseTimeout(), null,
            () -> m.driver.prepare(m.context))))
        .thenCompose(v -> MemberCalls.byLevels(order.descending(), members, this::quiesce))
        .thenCompose(v -> cutAndResume())
        .thenCompose(v -> transferAll(all().stream().filter(m -> !m.transferred).toList()))
        .thenCompose(v -> journal.cutsRecorded()) // the journal's cut record first: the commit's record extends it
        .thenCompose(v -> {
          Tasks.Call<Checkpoint> c = work.call("commit of " + checkpointId + " of " + encapsulation.name(),
              policy.phaseTimeout(), this::commit);
          commitReturned = c.finished();
          return c.result();
        })
        .whenComplete((checkpoint, error) -> {
          if (error != null) {
            abort(error);
          } else {
            finish(checkpoint);
          }
        });
    return result;
  }

  private List<CaptureMember> all() {
    return List.copyOf(members.values());
  }

  // ---- phases ----

  private void setUp() {
    Instant storageStart;
    try {
      generation = run.store().generation(); // first: what this process knows of chunks dates from now
      lease = run.store().leases().acquire(encapsulation.name(), checkpointId, "capture");
      new Repair(run).run(encapsulation);
      parent = run.store().manifests(encapsulation.name()).stream().reduce((a, b) -> b).orElse(null);
      storageStart = run.store().leases().storageNow();
    } catch (Leases.HeldException e) {
      throw new LencapException("cannot capture " + encapsulation.name() + " now: " + e.getMessage()
          + " is running on it; capture when it has completed");
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot read the store " + run.store().describe(), e);
    }
    for (Resource r : encapsulation.resources()) {
      members.put(r.id(), new CaptureMember(run, encapsulation, checkpointId, r, run.providers().providerFor(r),
          parent, packs, recent));
    }
    order = new Order(encapsulation, r -> members.get(r.id()).provider.role(r));
    try {
      journal.open(JournalRecord.capture(checkpointId, encapsulation.name(), run.owner(), storageStart,
          journalEntries()));
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot write the intent journal to " + run.store().describe(), e);
    }
    for (CaptureMember m : all()) {
      m.driver = m.provider.open(m.resource, run.providerContext());
    }
    run.events().phase(encapsulation.name(), checkpointId, null, Phase.PREPARE, Status.STARTED,
        policy.mode().toString());
  }

  private List<JournalRecord.Member> journalEntries() {
    return all().stream().map(CaptureMember::journalEntry).toList();
  }

  private CompletableFuture<Void> quiesce(CaptureMember m) {
    budget.start(this::budgetPassed);
    m.quiescing();
    budget.watch(() -> m.resumed, () -> {
      log.warn("watchdog: {} quiesced past its pause budget plus grace; resuming it", m.id());
      forceResume(m);
    });
    return call(m, Phase.QUIESCE, policy.pauseBudget(), null, () -> m.driver.quiesce());
  }

  /** Past the budget, a member still paused aborts the capture, blaming the member whose call still runs. */
  private void budgetPassed() {
    if (all().stream().anyMatch(CaptureMember::paused)) {
      CaptureMember stuck = all().stream().filter(x -> !x.lastCall.isDone()).findFirst().orElse(null);
      abort(new MemberFailure(stuck == null ? null : stuck.id(), stuck == null ? Phase.QUIESCE : stuck.busyPhase,
          new LencapTimeoutException(budget.exceeded())));
    }
  }

  private CompletableFuture<Void> cut(CaptureMember m) {
    return callInPause(m, Phase.CUT, () -> {
      Cut c = m.driver.cut(m.context);
      m.cut = c;
      if (aborted.get()) {
        // Landed after the abort (a hung hypervisor answered late): the undo releases it, record it first.
        journal.recordCuts(journalEntries());
      }
    });
  }

  /**
   * Cuts every member at once, then resumes by levels, storage first. A member whose cut is not live is copied
   * while it stays quiesced, from as soon as its own cut and its writers' cuts are done (their redirects decide
   * whether the copy may wait until after resume), so the copy overlaps the other members' cuts. Nobody resumes
   * before every member has cut: that instant is the recovery line.
   */
  private CompletableFuture<Void> cutAndResume() {
    Map<String, CompletableFuture<Void>> cuts = new HashMap<>();
    all().forEach(m -> cuts.put(m.id(), cut(m)));
    CompletableFuture<Void> allCut = CompletableFuture.allOf(cuts.values().toArray(CompletableFuture[]::new))
        .thenRun(() -> {
          recoveryLine = run.clock().instant();
          journal.recordCutsLater(run.executor(), this::journalEntries);
          Redirects.check(encapsulation.name(), all());
        });
    if (policy.mode() == CaptureMode.BLOCKING) {
      return allCut.thenCompose(v -> transferAll(all()))
          .thenCompose(v -> MemberCalls.byLevels(order.ascending(), members, this::resume));
    }
    Map<String, CompletableFuture<Void>> resumed = new HashMap<>();
    // Members with the same dependencies (every VM depends on all storage) share one wait.
    Map<Set<String>, CompletableFuture<Void>> depsResumed = new HashMap<>();
    for (List<String> level : order.ascending()) {
      for (String id : level) {
        CaptureMember m = members.get(id);
        List<CaptureMember> writers = Redirects.writers(m, all());
        CompletableFuture<Void> copied = CompletableFuture.allOf(Stream.concat(Stream.of(m), writers.stream())
                .map(w -> cuts.get(w.id())).toArray(CompletableFuture[]::new))
            .thenCompose(v -> m.cut.live() || Redirects.frozenByWriters(m, writers)
                ? CompletableFuture.<Void>completedFuture(null) : transferInPause(m));
        CompletableFuture<Void> deps = depsResumed.computeIfAbsent(order.dependencies(id), ds -> CompletableFuture
            .allOf(ds.stream().map(resumed::get).toArray(CompletableFuture[]::new)));
        resumed.put(id, CompletableFuture.allOf(allCut, copied, deps).thenCompose(v -> resume(m)));
      }
    }
    return CompletableFuture.allOf(resumed.values().toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> transferInPause(CaptureMember m) {
    m.context.method("copy-in-pause");
    m.context.note("the cut was not live: the state was copied while the member stayed quiesced");
    return callInPause(m, Phase.TRANSFER, () -> transferBody(m));
  }

  private CompletableFuture<Void> resume(CaptureMember m) {
    return call(m, Phase.RESUME, policy.pauseGrace().plus(budget.remaining()), null, () -> {
      m.driver.resume();
      m.markResumed();
    });
  }

  /** Transfers with at most the policy's number of members at once. */
  private CompletableFuture<Void> transferAll(List<CaptureMember> todo) {
    return MemberCalls.inLanes(todo, policy.transferConcurrency(), aborted::get,
        m -> call(m, Phase.TRANSFER, policy.phaseTimeout(), null, () -> transferBody(m))
            .thenRun(() -> releaseOnceTransferred(m)));
  }

  /**
   * Starts the release of a resumed member whose driver says its release does not depend on the commit, while the
   * others transfer and the group commits. Not when its cut redirects writes: merging them back would change storage
   * that another member may still be copying.
   */
  private void releaseOnceTransferred(CaptureMember m) {
    if (!aborted.get() && m.resumed && m.cut.redirects().isEmpty()
        && m.driver.capabilities().contains(Capability.RELEASE_ONCE_TRANSFERRED)) {
      release(m);
    }
  }

  private void transferBody(CaptureMember m) throws Exception {
    m.driver.transfer(m.cut, m.context);
    m.transferred = true;
    m.writer.reportDone();
  }

  private Checkpoint commit() {
    return new CaptureCommit(run, encapsulation, checkpointId, journal, packs).commit(all(), parent, generation, startedAt,
        recoveryLine, aborted::get, () -> commitStarted = true, () -> committed = true);
  }

  private void finish(Checkpoint checkpoint) {
    MemberCalls.forAll(all(), this::release)
        .handle((v, e) -> e)
        .thenCombine(journal.cutsRecorded().exceptionally(x -> null), (e, x) -> e)
        .thenApplyAsync(e -> {
          if (e != null) {
            log.warn("capture {} of {} committed, but releasing a cut failed: {}", checkpointId,
                encapsulation.name(), Failures.unwrap(e).toString());
          }
          closeDrivers();
          try {
            journal.forget();
            lease.close();
            if (run.store().retain(encapsulation.name(), policy.retention()) > 0) {
              run.store().collect();
            }
          } catch (IOException | RuntimeException ex) {
            log.warn("after committing {}: retention failed: {}", checkpointId, ex.toString());
          }
          log.info("captured {} of {}: pause {} ms, {} bytes, {} stored", checkpointId, encapsulation.name(),
              checkpoint.pause().toMillis(), checkpoint.logicalBytes(), checkpoint.storedBytes());
          run.events().publish(new LencapEvent.Committed(encapsulation.name(), checkpointId, checkpoint,
              run.clock().instant()));
          beforeCompletion.run();
          result.complete(checkpoint);
          settled.complete(null);
          return null;
        }, run.executor());
  }

  /** Releases a member's cut (a VM's overlays merged back, a LUN's snapshot deleted), in the timeline. */
  private CompletableFuture<Void> release(CaptureMember m) {
    return release(m, true);
  }

  /** Releases a member's cut once, whoever asks first (an early release, the commit, an abort). */
  private CompletableFuture<Void> release(CaptureMember m, boolean inTimeline) {
    synchronized (m) {
      if (m.release == null) {
        if (inTimeline) {
          run.events().phase(encapsulation.name(), checkpointId, m.id(), Phase.RELEASE, Status.STARTED, null);
        }
        CompletableFuture<Void> r = calls.undo(m.id(), Phase.RELEASE, () -> m.driver.release(m.cut));
        m.release = !inTimeline ? r : r.whenComplete((v, e) -> run.events().phase(encapsulation.name(), checkpointId,
            m.id(), Phase.RELEASE, e == null ? Status.COMPLETED : Status.FAILED,
            e == null ? null : Failures.unwrap(e).toString()));
      }
      return m.release;
    }
  }

  // ---- abort ----

  void abort(Throwable error) {
    if (committed || result.isDone() || !aborted.compareAndSet(false, true)) {
      return; // once committed, a capture completes with its checkpoint whatever comes after
    }
    Throwable cause = Failures.unwrap(error);
    log.info("aborting capture {} of {}: {}", checkpointId, encapsulation.name(), cause.toString());
    members.values().forEach(m -> m.context.cancelled = true);
    work.cancelAll("capture aborted");
    // A member whose call hangs (a stopped hypervisor) must not hold the caller: past the grace, the result
    // completes with the failure while the undo goes on until the member answers.
    run.scheduler().schedule(() -> {
      if (!completed.get()) {
        log.warn("capture {} of {}: completing at its deadline while {} still undo", checkpointId,
            encapsulation.name(), all().stream().filter(m -> !m.lastCall.isDone()).map(CaptureMember::id).toList());
        complete(cause);
      }
    }, policy.pauseGrace());
    // Resume in order, each once its own call has really returned (or the grace has passed).
    MemberCalls.byLevelsQuietly(order.ascending(), members, m -> !m.paused()
            ? CompletableFuture.completedFuture(null)
            : m.idle().thenCompose(x -> calls.undo(m.id(), Phase.RESUME, () -> {
              m.driver.resume();
              m.markResumed();
            })))
        // Release every cut, including one that lands late: wait for each member's call to really return.
        .thenCompose(v -> MemberCalls.forAllQuietly(all(), m -> m.settled().thenCompose(x -> m.cut == null
            ? CompletableFuture.completedFuture(null) : release(m, false))))
        .thenCompose(v -> journal.cutsRecorded().exceptionally(x -> null))
        .thenCompose(v -> commitReturned.copy().completeOnTimeout(null, policy.phaseTimeout().toNanos(),
            TimeUnit.NANOSECONDS)) // an interrupted commit must not write its manifest after it is withdrawn
        .whenCompleteAsync((v, e) -> {
          Thread.interrupted(); // a stale interrupt must not fail the store writes below
          closeDrivers();
          boolean allResumed = all().stream().noneMatch(CaptureMember::paused);
          try {
            if (commitStarted) {
              run.store().withdraw(encapsulation.name(), checkpointId); // cancelled or timed out mid-commit
            }
            if (allResumed) {
              journal.forget(); // else keep it: repair resumes them later
            }
            if (lease != null) {
              lease.close();
            }
            run.store().collect();
          } catch (IOException | RuntimeException ex) {
            log.warn("cleaning up after the aborted capture {}: {}", checkpointId, ex.toString());
          }
          complete(cause);
          settled.complete(null);
        }, run.executor());
  }

  private void complete(Throwable cause) {
    if (!completed.compareAndSet(false, true)) {
      return;
    }
    run.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.FAILED, cause.toString());
    beforeCompletion.run();
    if (cause instanceof CancellationException ce) {
      result.cancelled(ce);
    } else {
      result.completeExceptionally(Failures.captureAborted(encapsulation.name(), cause));
    }
  }

  private void forceResume(CaptureMember m) {
    run.resumePool().execute(() -> {
      try {
        m.driver.resume();
        m.markResumed();
      } catch (Exception e) {
        log.error("watchdog could not resume {}: {}", m.id(), e.toString());
      }
    });
    abort(new MemberFailure(m.id(), Phase.QUIESCE, new LencapTimeoutException(
        "member " + m.id() + " stayed quiesced past the pause budget plus grace")));
  }

  private void closeDrivers() {
    all().forEach(m -> MemberCalls.close(m.id(), m.driver));
  }

  // ---- plumbing ----

  /** A phase call inside the pause, limited by what is left of the pause budget, which a time-out names. */
  private CompletableFuture<Void> callInPause(CaptureMember m, Phase phase, Tasks.Body body) {
    return call(m, phase, budget.remaining(), budget.exceeded(), body);
  }

  /** A phase call of one member; its failure aborts the capture at once. */
  private CompletableFuture<Void> call(CaptureMember m, Phase phase, Duration timeout, String limit,
      Tasks.Body body) {
    // The call is published before the abort flag is read, and the abort sets its flag before it reads the
    // calls: so either this call is never started, or the abort's undo waits for it to return. (A failing
    // member's thread aborts while another thread is still starting its peers' calls of the same level.)
    CompletableFuture<Void> finished = new CompletableFuture<>();
    m.lastCall = finished;
    if (aborted.get()) {
      finished.complete(null);
      return CompletableFuture.failedFuture(new CancellationException("capture aborted"));
    }
    m.busyPhase = phase;
    Tasks.Call<Void> c = calls.call(m.id(), phase, timeout, limit, () -> {
      if (aborted.get()) {
        throw new CancellationException("capture aborted");
      }
      body.run();
    });
    c.finished().whenComplete((v, e) -> finished.complete(null));
    return c.result().whenComplete((v, e) -> {
      if (e != null) {
        abort(e);
      }
    });
  }
}
