package io.lencap.core;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One capture of one encapsulation, the protocol of DESIGN.md: prepare all; quiesce by levels, writers
 * first; cut all (the recovery line); resume by levels, storage first (a member whose cut is not live
 * is transferred before it resumes, and its dependents wait); transfer the rest in the background;
 * commit the manifest; release the cuts. Any failure, timeout, exceeded pause budget or cancellation
 * aborts: every quiesced member is resumed, every cut released, nothing committed.
 */
final class CaptureRun {
  private static final Logger log = LoggerFactory.getLogger(CaptureRun.class);

  private final Engine engine;
  private final Encapsulation encapsulation;
  private final ResiliencyPolicy policy;
  private final String checkpointId;
  private final Instant startedAt;
  private final Order order;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Tasks work;
  private final Tasks cleanup;
  private final AtomicBoolean aborted = new AtomicBoolean();
  private final Result result = new Result();
  private volatile Instant recoveryLine;
  private volatile long firstQuiesceNanos;
  private volatile Manifest parent;
  private volatile String generation;
  private volatile JournalRecord journal;
  private volatile Leases.Lease lease;
  /** Completes the result once, at the end of the undo or at the abort's deadline, whichever comes first. */
  private final AtomicBoolean completed = new AtomicBoolean();
  /** Set before the manifest may be written: an abort from then on takes a manifest that made it back. */
  private volatile boolean commitStarted;
  private volatile boolean committed;
  private volatile CompletableFuture<Void> commitReturned = CompletableFuture.completedFuture(null);
  /** The journal update with the cuts; forgetting the record must wait for it, or it would come back. */
  private volatile CompletableFuture<Void> cutsRecorded = CompletableFuture.completedFuture(null);

  /** Runs just before the result completes, so that whoever sees the result sees its effects. */
  private final Runnable beforeCompletion;

  CaptureRun(Engine engine, Encapsulation encapsulation, String checkpointId, Runnable beforeCompletion) {
    this.beforeCompletion = beforeCompletion;
    this.engine = engine;
    this.encapsulation = encapsulation;
    this.policy = encapsulation.policy();
    this.checkpointId = checkpointId;
    this.startedAt = engine.clock().instant();
    this.order = new Order(encapsulation);
    this.work = new Tasks(engine.executor(), engine.timer());
    this.cleanup = new Tasks(engine.resumePool(), engine.timer());
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

  private final CompletableFuture<Void> settled = new CompletableFuture<>();

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
        .thenCompose(v -> forAll(all(), m -> call(m, Phase.PREPARE, policy.phaseTimeout(),
            () -> m.driver.prepare(m.context))))
        .thenCompose(v -> quiesceAll())
        .thenCompose(v -> forAll(all(), this::cut))
        .thenRun(this::checkRedirects)
        .thenCompose(v -> afterCut())
        .thenCompose(v -> transferAll(all().stream().filter(m -> !m.transferred).toList()))
        .thenCompose(v -> cutsRecorded) // the journal's cut record first: the commit's record extends it
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

  private List<Member> all() {
    return List.copyOf(members.values());
  }

  // ---- phases ----

  private void setUp() {
    Instant storageStart;
    try {
      generation = engine.store().generation(); // first: what this process knows of chunks dates from now
      lease = engine.store().leases().acquire(encapsulation.name(), checkpointId, "capture");
      new Repair(engine).run(encapsulation);
      parent = engine.store().manifests(encapsulation.name()).stream().reduce((a, b) -> b).orElse(null);
      storageStart = engine.store().leases().storageNow();
    } catch (Leases.HeldException e) {
      throw new LencapException("cannot capture " + encapsulation.name() + " now: " + e.getMessage()
          + " is running on it; capture when it has completed");
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot read the store " + engine.store().describe(), e);
    }
    for (Resource r : encapsulation.resources()) {
      ResourceProvider provider = engine.providers().providerFor(r);
      members.put(r.id(), new Member(r, provider));
    }
    List<JournalRecord.Member> recorded = all().stream().map(m -> m.journalEntry(Map.of())).toList();
    journal = JournalRecord.capture(checkpointId, encapsulation.name(), engine.owner(), storageStart, recorded);
    try {
      engine.store().record(journal);
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot write the intent journal to " + engine.store().describe(), e);
    }
    for (Member m : all()) {
      m.driver = m.provider.open(m.resource, engine.providerContext());
    }
    engine.events().phase(encapsulation.name(), checkpointId, null, Phase.PREPARE, Status.STARTED,
        policy.mode().toString());
  }

  private CompletableFuture<Void> quiesceAll() {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (List<String> level : order.descending()) {
      chain = chain.thenCompose(v -> forAll(members(level), this::quiesce));
    }
    return chain;
  }

  private CompletableFuture<Void> quiesce(Member m) {
    if (firstQuiesceNanos == 0) {
      synchronized (this) {
        if (firstQuiesceNanos == 0) {
          firstQuiesceNanos = System.nanoTime();
          // The budget bounds the group's pause: past it, abort and resume everyone in order.
          engine.timer().schedule(() -> {
            if (!all().stream().allMatch(x -> x.resumed || !x.quiesceCalled)) {
              // Blame the member whose call is still running, if one is.
              Member stuck = all().stream().filter(x -> !x.lastCall.isDone()).findFirst().orElse(null);
              abort(new MemberFailure(stuck == null ? null : stuck.resource.id(),
                  stuck == null ? Phase.QUIESCE : stuck.busyPhase, new LencapTimeoutException(
                  "the pause budget of " + policy.pauseBudget() + " was exceeded")));
            }
          }, policy.pauseBudget().toNanos(), TimeUnit.NANOSECONDS);
        }
      }
    }
    m.quiesceStartNanos = System.nanoTime();
    m.quiesceCalled = true;
    // The watchdog: past budget + grace, resume this member directly, even if the capture is stuck.
    engine.timer().schedule(() -> {
      if (!m.resumed) {
        log.warn("watchdog: {} quiesced past its pause budget plus grace; resuming it", m.resource.id());
        forceResume(m);
      }
    }, policy.pauseBudget().plus(policy.pauseGrace()).toNanos(), TimeUnit.NANOSECONDS);
    return call(m, Phase.QUIESCE, policy.pauseBudget(), () -> m.driver.quiesce());
  }

  private CompletableFuture<Void> cut(Member m) {
    return callInPause(m, Phase.CUT, () -> {
      Cut c = m.driver.cut(m.context);
      m.cut = c;
      if (aborted.get()) {
        // Landed after the abort (a hung hypervisor answered late): the undo releases it, record it first.
        recordCuts();
      }
    });
  }

  private CompletableFuture<Void> afterCut() {
    recoveryLine = engine.clock().instant();
    cutsRecorded = CompletableFuture.runAsync(this::recordCuts, engine.executor());
    if (policy.mode() == CaptureMode.BLOCKING) {
      return transferAll(all()).thenCompose(v -> resumeByLevels());
    }
    Map<String, CompletableFuture<Void>> resumed = new HashMap<>();
    // Members with the same dependencies (every VM depends on all storage) share one wait.
    Map<java.util.Set<String>, CompletableFuture<Void>> depsResumed = new HashMap<>();
    for (List<String> level : order.ascending()) {
      for (String id : level) {
        Member m = members.get(id);
        CompletableFuture<Void> deps = depsResumed.computeIfAbsent(order.dependencies(id), ds -> CompletableFuture
            .allOf(ds.stream().map(resumed::get).toArray(CompletableFuture[]::new)));
        resumed.put(id, deps
            .thenCompose(v -> m.cut.live() || frozenByWriters(m) ? CompletableFuture.<Void>completedFuture(null)
                : transferInPause(m))
            .thenCompose(v -> resume(m)));
      }
    }
    return CompletableFuture.allOf(resumed.values().toArray(CompletableFuture[]::new));
  }

  /**
   * A cut that redirects the writes of storage that is not a member (a VM's writable LUN disk outside the
   * group) would pair the VM's memory with storage from another time at restore: refused.
   */
  private void checkRedirects() {
    java.util.Set<String> storage = new java.util.HashSet<>();
    all().forEach(m -> storage.add(m.resource.locator().toString()));
    for (Member m : all()) {
      for (String locator : m.cut.redirects()) {
        if (!storage.contains(locator)) {
          throw new MemberFailure(m.resource.id(), Phase.CUT, new io.lencap.api.InvalidSpecException(
              "resources[" + m.resource.id() + "]", "writes to " + locator + ", which is not a member of "
              + encapsulation.name() + ": add it as a member, or exclude the disk (the provider's exclude.disks)"));
        }
      }
    }
  }

  /**
   * Whether a storage member whose own cut is not live stays frozen anyway: every member that depends on
   * it has a live cut that redirects its writes away from it until release (a VM's overlay over its LUN).
   */
  private boolean frozenByWriters(Member storage) {
    String locator = storage.resource.locator().toString();
    List<Member> writers = all().stream()
        .filter(w -> w.resource.dependsOn().contains(storage.resource.id())).toList();
    boolean frozen = !writers.isEmpty()
        && writers.stream().allMatch(w -> w.cut.live() && w.cut.redirects().contains(locator));
    if (frozen) {
      storage.context.method("frozen-by-writers");
      storage.context.note("its writers (" + writers.stream().map(w -> w.resource.id()).toList()
          + ") wrote to overlays while it was transferred after resume");
    }
    return frozen;
  }

  private CompletableFuture<Void> transferInPause(Member m) {
    m.context.method("copy-in-pause");
    m.context.note("the cut was not live: the state was copied while the member stayed quiesced");
    return callInPause(m, Phase.TRANSFER, () -> transferBody(m));
  }

  private CompletableFuture<Void> resumeByLevels() {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (List<String> level : order.ascending()) {
      chain = chain.thenCompose(v -> forAll(members(level), this::resume));
    }
    return chain;
  }

  private CompletableFuture<Void> resume(Member m) {
    return call(m, Phase.RESUME, policy.pauseGrace().plus(remainingBudget()), () -> {
      m.driver.resume();
      m.markResumed();
    });
  }

  private CompletableFuture<Void> transferAll(List<Member> todo) {
    AtomicInteger next = new AtomicInteger();
    int lanes = Math.min(policy.transferConcurrency(), Math.max(1, todo.size()));
    CompletableFuture<?>[] workers = new CompletableFuture[lanes];
    for (int i = 0; i < lanes; i++) {
      workers[i] = lane(todo, next);
    }
    return CompletableFuture.allOf(workers);
  }

  private CompletableFuture<Void> lane(List<Member> todo, AtomicInteger next) {
    int i = next.getAndIncrement();
    if (i >= todo.size() || aborted.get()) {
      return CompletableFuture.completedFuture(null);
    }
    return transfer(todo.get(i), policy.phaseTimeout()).thenCompose(v -> lane(todo, next));
  }

  private CompletableFuture<Void> transfer(Member m, Duration timeout) {
    return call(m, Phase.TRANSFER, timeout, () -> transferBody(m));
  }

  private void transferBody(Member m) throws Exception {
    m.driver.transfer(m.cut, m.context);
    m.transferred = true;
    m.writer.reportDone();
  }

  private Checkpoint commit() {
    engine.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.STARTED, null);
    List<Manifest.Member> stored = new ArrayList<>();
    Map<String, Integer> referenced = new HashMap<>();
    for (Member m : all()) {
      referenced.putAll(m.writer.referencedChunks());
      long pauseNanos = m.pauseNanos(); // first: it notes a pause the provider measured
      stored.add(new Manifest.Member(m.resource.id(), m.resource.type(), m.resource.locator().toString(),
          m.resource.properties(), m.provider.name(), pauseNanos, m.writer.logicalBytes(),
          m.writer.storedBytes(), m.context.method, List.copyOf(m.context.notes), m.writer.attributes(),
          m.writer.entries()));
    }
    Manifest manifest = new Manifest(Manifest.FORMAT, checkpointId, encapsulation.name(),
        parent == null ? null : parent.id(), policy.mode(), startedAt, recoveryLine, engine.clock().instant(),
        stored);
    if (aborted.get()) {
      throw new CancellationException("capture aborted before commit");
    }
    validate(manifest);
    commitStarted = true;
    try {
      // Name the manifest's chunks in the journal first, so that a collection from now on spares them.
      journal = journal.withChunks(CheckpointStore.chunksOf(manifest).keySet());
      engine.store().record(journal);
      java.util.Set<String> damaged = engine.store().unproven(referenced, false);
      if (!damaged.isEmpty()) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "chunk " + damaged.iterator().next() + " ("
            + damaged.size() + " in all) that this capture reuses from " + (parent == null ? "the store" : "checkpoint "
            + parent.id()) + " is missing or damaged in " + engine.store().describe() + "; nothing was committed,"
            + " and the next capture reads that data again", null);
      }
      engine.store().commit(manifest, generation, policy.phaseTimeout());
      committed = true;
    } catch (IOException e) {
      throw new MemberFailure(null, Phase.COMMIT, e);
    }
    engine.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.COMPLETED, null);
    return manifest.toCheckpoint();
  }

  /** Runs each driver's restore-side validation on what this capture stored: no unrestorable commit. */
  private void validate(Manifest manifest) {
    for (Member m : all()) {
      Manifest.Member stored = manifest.member(m.resource.id()).orElseThrow();
      try {
        m.driver.validate(new StoredStateView(engine.store(), engine.storePool(), checkpointId, stored));
      } catch (Exception e) {
        throw new MemberFailure(m.resource.id(), Phase.COMMIT, e);
      }
    }
  }

  private void finish(Checkpoint checkpoint) {
    forAll(all(), m -> cleanupCall(m, Phase.RELEASE, () -> m.driver.release(m.cut)))
        .handle((v, e) -> e)
        .thenCombine(cutsRecorded.exceptionally(x -> null), (e, x) -> e)
        .thenApplyAsync(e -> {
          if (e != null) {
            log.warn("capture {} of {} committed, but releasing a cut failed: {}", checkpointId,
                encapsulation.name(), Failures.unwrap(e).toString());
          }
          closeDrivers();
          try {
            engine.store().forget(checkpointId);
            lease.close();
            if (engine.store().retain(encapsulation.name(), policy.keepLast()) > 0) {
              engine.store().collect();
            }
          } catch (IOException | RuntimeException ex) {
            log.warn("after committing {}: retention failed: {}", checkpointId, ex.toString());
          }
          log.info("captured {} of {}: pause {} ms, {} bytes, {} stored", checkpointId, encapsulation.name(),
              checkpoint.pause().toMillis(), checkpoint.logicalBytes(), checkpoint.storedBytes());
          engine.events().publish(new io.lencap.api.LencapEvent.Committed(encapsulation.name(), checkpointId,
              checkpoint, engine.clock().instant()));
          beforeCompletion.run();
          result.complete(checkpoint);
          settled.complete(null);
          return null;
        }, engine.executor());
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
    engine.timer().schedule(() -> {
      if (!completed.get()) {
        log.warn("capture {} of {}: completing at its deadline while {} still undo", checkpointId,
            encapsulation.name(), all().stream().filter(m -> !m.lastCall.isDone()).map(m -> m.resource.id()).toList());
        complete(cause);
      }
    }, policy.pauseGrace().toNanos(), TimeUnit.NANOSECONDS);
    // Resume in order, each once its own call has really returned (or the grace has passed).
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (List<String> level : order.ascending()) {
      chain = chain.thenCompose(v -> forAllQuietly(members(level), m -> !m.quiesceCalled || m.resumed
          ? CompletableFuture.completedFuture(null)
          : m.idle().thenCompose(x -> cleanupCall(m, Phase.RESUME, () -> {
            m.driver.resume();
            m.markResumed();
          }))));
    }
    // Release every cut, including one that lands late: wait for each member's call to really return.
    chain.thenCompose(v -> forAllQuietly(all(), m -> m.settled().thenCompose(x -> m.cut == null
            ? CompletableFuture.completedFuture(null)
            : cleanupCall(m, Phase.RELEASE, () -> m.driver.release(m.cut)))))
        .thenCompose(v -> cutsRecorded.exceptionally(x -> null))
        .thenCompose(v -> commitReturned.copy().completeOnTimeout(null, policy.phaseTimeout().toNanos(),
            TimeUnit.NANOSECONDS)) // an interrupted commit must not write its manifest after it is withdrawn
        .whenCompleteAsync((v, e) -> {
          Thread.interrupted(); // a stale interrupt must not fail the store writes below
          closeDrivers();
          boolean allResumed = all().stream().allMatch(m -> !m.quiesceCalled || m.resumed);
          try {
            if (commitStarted) {
              engine.store().withdraw(encapsulation.name(), checkpointId); // cancelled or timed out mid-commit
            }
            if (allResumed && journal != null) {
              engine.store().forget(checkpointId); // else keep it: repair resumes them later
            }
            if (lease != null) {
              lease.close();
            }
            engine.store().collect();
          } catch (IOException | RuntimeException ex) {
            log.warn("cleaning up after the aborted capture {}: {}", checkpointId, ex.toString());
          }
          complete(cause);
          settled.complete(null);
        }, engine.executor());
  }

  private void complete(Throwable cause) {
    if (!completed.compareAndSet(false, true)) {
      return;
    }
    engine.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.FAILED, cause.toString());
    beforeCompletion.run();
    if (cause instanceof CancellationException ce) {
      result.cancelled(ce);
    } else {
      result.completeExceptionally(aborted(cause));
    }
  }

  private RuntimeException aborted(Throwable cause) {
    if (cause instanceof CaptureAbortedException ca) {
      return ca;
    }
    if (cause instanceof MemberFailure f) {
      String who = f.memberId == null ? "" : "member " + f.memberId + " ";
      RuntimeException translated = Failures.translate(f.getCause(), who + "in " + f.phase);
      return new CaptureAbortedException(f.memberId, f.phase, "capture of " + encapsulation.name()
          + " aborted: " + translated.getMessage(), translated);
    }
    if (cause instanceof io.lencap.api.ProviderNotFoundException pnf) {
      return pnf;
    }
    RuntimeException translated = Failures.translate(cause, "capture of " + encapsulation.name());
    return new CaptureAbortedException(null, null, "capture of " + encapsulation.name() + " aborted: "
        + translated.getMessage(), translated);
  }

  private void forceResume(Member m) {
    engine.resumePool().execute(() -> {
      try {
        m.driver.resume();
        m.markResumed();
      } catch (Exception e) {
        log.error("watchdog could not resume {}: {}", m.resource.id(), e.toString());
      }
    });
    abort(new MemberFailure(m.resource.id(), Phase.QUIESCE, new LencapTimeoutException(
        "member " + m.resource.id() + " stayed quiesced past the pause budget plus grace")));
  }

  private void closeDrivers() {
    for (Member m : all()) {
      if (m.driver != null) {
        try {
          m.driver.close();
        } catch (Exception e) {
          log.debug("closing driver of {}: {}", m.resource.id(), e.toString());
        }
      }
    }
  }

  private void recordCuts() {
    List<JournalRecord.Member> updated = all().stream()
        .map(m -> m.journalEntry(m.cut == null ? Map.of() : m.cut.artefacts())).toList();
    try {
      journal = journal.withMembers(updated);
      engine.store().record(journal);
    } catch (IOException e) {
      log.warn("could not record the cuts of {} in the journal: {}", checkpointId, e.toString());
    }
  }

  // ---- plumbing ----

  private Duration remainingBudget() {
    long used = firstQuiesceNanos == 0 ? 0 : System.nanoTime() - firstQuiesceNanos;
    return Duration.ofNanos(Math.max(1_000_000L, policy.pauseBudget().toNanos() - used));
  }

  private List<Member> members(List<String> ids) {
    return ids.stream().map(members::get).toList();
  }

  private static CompletableFuture<Void> forAll(List<Member> ms, Function<Member, CompletableFuture<Void>> f) {
    return CompletableFuture.allOf(ms.stream().map(f).toArray(CompletableFuture[]::new));
  }

  private static CompletableFuture<Void> forAllQuietly(List<Member> ms,
      Function<Member, CompletableFuture<Void>> f) {
    return CompletableFuture.allOf(ms.stream().map(m -> f.apply(m).exceptionally(e -> null))
        .toArray(CompletableFuture[]::new));
  }

  /** A phase call of one member: events, time limit, and on failure an immediate abort. */
  private CompletableFuture<Void> call(Member m, Phase phase, Duration timeout, Tasks.Body body) {
    return call(m, phase, timeout, null, body);
  }

  /** A phase call inside the pause, limited by what is left of the pause budget, which a time-out names. */
  private CompletableFuture<Void> callInPause(Member m, Phase phase, Tasks.Body body) {
    return call(m, phase, remainingBudget(), "the pause budget of " + policy.pauseBudget() + " was exceeded", body);
  }

  private CompletableFuture<Void> call(Member m, Phase phase, Duration timeout, String limit, Tasks.Body body) {
    if (aborted.get()) {
      return CompletableFuture.failedFuture(new CancellationException("capture aborted"));
    }
    String id = m.resource.id();
    engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.STARTED, null);
    m.busyPhase = phase;
    Tasks.Call<?> c = work.callFor(encapsulation.name(), checkpointId, id, phase.name(), timeout, body);
    m.lastCall = c.finished();
    return c.result().handle((v, e) -> {
      if (e == null) {
        engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.COMPLETED, null);
        return null;
      }
      Throwable unwrapped = Failures.unwrap(e);
      Throwable cause = limit != null && unwrapped instanceof java.util.concurrent.TimeoutException
          ? new LencapTimeoutException(limit + " (" + unwrapped.getMessage() + ")") : unwrapped;
      engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.FAILED, cause.toString());
      MemberFailure failure = new MemberFailure(id, phase, cause);
      abort(failure);
      throw failure;
    });
  }

  private CompletableFuture<Void> cleanupCall(Member m, Phase phase, Tasks.Body body) {
    return cleanup.call("member " + m.resource.id() + " in " + phase + " (cleanup)", policy.phaseTimeout(),
        () -> {
          body.run();
          return null;
        }).result().handle((v, e) -> {
          if (e != null) {
            log.error("cleanup of member {} in {} failed: {}", m.resource.id(), phase, Failures.unwrap(e).toString());
            throw Failures.translate(e, "member " + m.resource.id() + " in " + phase);
          }
          return null;
        });
  }

  /** A failure attributed to a member (or the group, with a null id) and a phase. */
  static final class MemberFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String memberId;
    final Phase phase;

    MemberFailure(String memberId, Phase phase, Throwable cause) {
      super((memberId == null ? "group" : memberId) + " in " + phase + ": " + cause, cause, false, false);
      this.memberId = memberId;
      this.phase = phase;
    }
  }

  /** One member's state in this capture. */
  private final class Member {
    final Resource resource;
    final ResourceProvider provider;
    final StateWriter writer;
    final MemberContext context;
    volatile ResourceDriver driver;
    volatile Cut cut;
    volatile boolean quiesceCalled;
    volatile boolean resumed;
    volatile boolean transferred;
    volatile long quiesceStartNanos;
    volatile Phase busyPhase;
    volatile long pauseNanos;
    private int entriesReadAgain;
    volatile CompletableFuture<Void> lastCall = CompletableFuture.completedFuture(null);

    Member(Resource resource, ResourceProvider provider) {
      this.resource = resource;
      this.provider = provider;
      this.writer = new StateWriter(engine.store(), engine.chunkPool(), engine.storePool(), this::checkCancelled,
          (done, total) -> engine.events().progress(encapsulation.name(), checkpointId, resource.id(), done, total));
      this.context = new MemberContext(resource, writer, parentState());
      if (entriesReadAgain > 0) {
        context.note(entriesReadAgain + " entries of the parent name chunks found damaged: they are read again");
      }
    }

    private Optional<StoredState> parentState() {
      Manifest p = parent;
      if (p == null) {
        return Optional.empty();
      }
      return p.member(resource.id())
          .filter(pm -> pm.type() == resource.type() && pm.locator().equals(resource.locator().toString())
              && pm.properties().equals(resource.properties()))
          .map(pm -> new StoredStateView(engine.store(), engine.storePool(), p.id(), withoutDamaged(pm)));
    }

    /** The parent's state less the entries that name a chunk found damaged: those are read again. */
    private Manifest.Member withoutDamaged(Manifest.Member pm) {
      List<io.lencap.spi.StoredEntry> intact = pm.entries().stream()
          .filter(e -> e.chunks().stream().noneMatch(c -> engine.store().damaged(c.id()))).toList();
      if (intact.size() == pm.entries().size()) {
        return pm;
      }
      entriesReadAgain = pm.entries().size() - intact.size();
      return new Manifest.Member(pm.id(), pm.type(), pm.locator(), pm.properties(), pm.provider(), pm.pauseNanos(),
          pm.logicalBytes(), pm.storedBytes(), pm.method(), pm.notes(), pm.attributes(), intact);
    }

    private void checkCancelled() {
      context.checkCancelled();
    }

    synchronized void markResumed() {
      if (!resumed) {
        resumed = true;
        pauseNanos = System.nanoTime() - quiesceStartNanos;
      }
    }

    /** The driver's own measure of the pause when it gave one, else quiesce start to resume end. */
    long pauseNanos() {
      Duration reported = context.reportedPause;
      if (reported != null) {
        context.note("pause measured by the provider: " + reported.toMillis() + " ms; quiesce to resume took "
            + pauseNanos / 1_000_000 + " ms");
        return reported.toNanos();
      }
      return pauseNanos;
    }

    /** When the member's last call has returned, or the grace has passed. */
    CompletableFuture<Void> idle() {
      return lastCall.copy().completeOnTimeout(null, policy.pauseGrace().toNanos(), TimeUnit.NANOSECONDS);
    }

    /** When the member's last call has really returned, or the phase time-out has passed. */
    CompletableFuture<Void> settled() {
      return lastCall.copy().completeOnTimeout(null, policy.phaseTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    JournalRecord.Member journalEntry(Map<String, String> artefacts) {
      return new JournalRecord.Member(resource.id(), resource.type(), artefacts, false);
    }
  }

  /** The driver's view of the capture. */
  private final class MemberContext implements CaptureContext {
    private final Resource resource;
    private final StateSink sink;
    private final Optional<StoredState> parentState;
    final List<String> notes = java.util.Collections.synchronizedList(new ArrayList<>());
    volatile String method = "default";
    volatile Duration reportedPause;
    volatile boolean cancelled;

    MemberContext(Resource resource, StateSink sink, Optional<StoredState> parentState) {
      this.resource = resource;
      this.sink = sink;
      this.parentState = parentState;
    }

    @Override
    public String encapsulation() {
      return encapsulation.name();
    }

    @Override
    public String checkpointId() {
      return checkpointId;
    }

    @Override
    public CaptureMode mode() {
      return policy.mode();
    }

    @Override
    public Resource resource() {
      return resource;
    }

    @Override
    public Optional<StoredState> parent() {
      return parentState;
    }

    @Override
    public StateSink state() {
      return sink;
    }

    @Override
    public void method(String m) {
      this.method = m;
    }

    @Override
    public void pause(Duration measured) {
      reportedPause = measured;
    }

    @Override
    public void note(String note) {
      notes.add(note);
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public void checkCancelled() {
      if (cancelled) {
        throw new CancellationException("capture " + checkpointId + " of " + encapsulation.name() + " aborted");
      }
    }
  }
}
