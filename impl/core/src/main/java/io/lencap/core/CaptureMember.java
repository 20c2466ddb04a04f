package io.lencap.core;

import io.lencap.api.Encapsulation;
import io.lencap.api.Phase;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** One member's state in one capture: its driver and cut, where its state goes, and its pause. */
final class CaptureMember {
  final Resource resource;
  final ResourceProvider provider;
  final StateWriter writer;
  final MemberCaptureContext context;
  private final RunContext run;
  private final ResiliencyPolicy policy;
  volatile ResourceDriver driver;
  volatile Cut cut;
  volatile boolean quiesceCalled;
  volatile boolean resumed;
  volatile boolean transferred;
  volatile Phase busyPhase;
  volatile CompletableFuture<Void> lastCall = CompletableFuture.completedFuture(null);
  /** The release of the cut once started (null before): a cut is released once. */
  CompletableFuture<Void> release;
  private volatile long quiesceStartNanos;
  private volatile long pauseNanos;

  CaptureMember(RunContext run, Encapsulation encapsulation, String checkpointId, Resource resource,
      ResourceProvider provider, Manifest parent, ChunkPacks packs, RecentChunks recent) {
    this.run = run;
    this.policy = encapsulation.policy();
    this.resource = resource;
    this.provider = provider;
    Optional<Manifest.Member> stored = Optional.ofNullable(parent).flatMap(p -> p.member(resource.id()))
        .filter(pm -> pm.type() == resource.type() && pm.locator().equals(resource.locator().toString())
            && pm.properties().equals(resource.properties()));
    Optional<Manifest.Member> intact = stored.map(this::withoutDamaged);
    this.writer = new StateWriter(run.store(), run.chunkPool(), run.storePool(), this::checkCancelled,
        (done, total) -> run.events().progress(encapsulation.name(), checkpointId, resource.id(), done, total),
        intact.orElse(null), packs, recent);
    Optional<StoredState> parentState = intact.map(pm -> new StoredStateView(run.store(), run.storePool(),
        parent.id(), pm, Optional.of(recent)));
    this.context = new MemberCaptureContext(encapsulation.name(), checkpointId, policy.mode(), resource, writer,
        parentState);
    int readAgain = stored.map(pm -> pm.entries().size()).orElse(0) - intact.map(pm -> pm.entries().size()).orElse(0);
    if (readAgain > 0) {
      context.note(readAgain + " entries of the parent name chunks found damaged: they are read again");
    }
  }

  /**
   * The parent's state less the entries that name a chunk found damaged: those are read again. The parent's packs
   * are looked up first (a few objects): chunks past the end of a truncated or missing pack are damaged.
   */
  private Manifest.Member withoutDamaged(Manifest.Member pm) {
    try {
      run.store().chunks().checkPacks(pm.packs());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    List<StoredEntry> intact = pm.entries().stream()
        .filter(e -> e.chunks().stream().noneMatch(c -> run.store().chunks().damaged(c.id()))).toList();
    if (intact.size() == pm.entries().size()) {
      return pm;
    }
    return new Manifest.Member(pm.id(), pm.type(), pm.locator(), pm.properties(), pm.provider(), pm.pauseNanos(),
        pm.logicalBytes(), pm.storedBytes(), pm.method(), pm.notes(), pm.attributes(), intact, pm.deltas(), pm.packs());
  }

  String id() {
    return resource.id();
  }

  private void checkCancelled() {
    context.checkCancelled();
  }

  /** Its quiesce starts now: its pause is measured from here. */
  void quiescing() {
    quiesceStartNanos = run.ticker().read();
    quiesceCalled = true;
  }

  /** Its resume returned: its pause ends here (a second resume, by a watchdog, changes nothing). */
  synchronized void markResumed() {
    if (!resumed) {
      resumed = true;
      pauseNanos = run.ticker().read() - quiesceStartNanos;
    }
  }

  /** Whether it was quiesced and not yet resumed. */
  boolean paused() {
    return quiesceCalled && !resumed;
  }

  /**
   * The driver's own measure of the pause when it gave one (noting quiesce to resume beside it), else quiesce
   * start to resume end.
   */
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

  /** The member as the journal names it, with what its cut left behind. */
  JournalRecord.Member journalEntry() {
    Cut c = cut;
    return new JournalRecord.Member(resource.id(), resource.type(), c == null ? Map.of() : c.artefacts(), false);
  }
}
