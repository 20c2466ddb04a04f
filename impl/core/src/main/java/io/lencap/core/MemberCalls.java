package io.lencap.core;

import io.lencap.api.LencapEvent.Status;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.Phase;
import io.lencap.spi.ResourceDriver;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What captures and restores do alike with their members' drivers: one member's phase call with its events
 * and time limit, calls over many members at once or level by level, and closing the drivers.
 */
final class MemberCalls {
  private static final Logger log = LoggerFactory.getLogger(MemberCalls.class);
  private final Events events;
  private final Tasks work;
  private final Tasks undo;
  private final String encapsulation;
  private final String checkpointId;
  private final Duration undoTimeout;

  /**
   * @param work runs the operation's calls
   * @param undo runs the calls that undo it (resumes, releases): on threads the operation's calls cannot take
   */
  MemberCalls(Events events, Tasks work, Tasks undo, String encapsulation, String checkpointId,
      Duration undoTimeout) {
    this.events = events;
    this.work = work;
    this.undo = undo;
    this.encapsulation = encapsulation;
    this.checkpointId = checkpointId;
    this.undoTimeout = undoTimeout;
  }

  /**
   * One member's call in a phase, announced by a STARTED event and closed by COMPLETED or FAILED. Its result
   * completes exceptionally with a {@link MemberFailure} naming member, phase and cause; a call that runs
   * past its time limit has a {@link LencapTimeoutException} cause that names {@code limit} when one is
   * given (the pause budget), else a {@link TimeoutException}.
   */
  Tasks.Call<Void> call(String memberId, Phase phase, Duration timeout, String limit, Tasks.Body body) {
    return call(memberId, phase, timeout, limit, body, () -> null);
  }

  /** The same, the COMPLETED event carrying {@code detail}'s answer once the call is done (null: none). */
  Tasks.Call<Void> call(String memberId, Phase phase, Duration timeout, String limit, Tasks.Body body,
      Supplier<String> detail) {
    events.phase(encapsulation, checkpointId, memberId, phase, Status.STARTED, null);
    Tasks.Call<Void> c = work.callFor(encapsulation, checkpointId, memberId, phase.name(), timeout, body);
    CompletableFuture<Void> result = c.result().handle((v, e) -> {
      if (e == null) {
        events.phase(encapsulation, checkpointId, memberId, phase, Status.COMPLETED, detail.get());
        return null;
      }
      Throwable unwrapped = Failures.unwrap(e);
      Throwable cause = limit != null && unwrapped instanceof TimeoutException
          ? new LencapTimeoutException(limit + " (" + unwrapped.getMessage() + ")") : unwrapped;
      events.phase(encapsulation, checkpointId, memberId, phase, Status.FAILED, cause.toString());
      throw new MemberFailure(memberId, phase, cause);
    });
    return new Tasks.Call<>(result, c.finished());
  }

  /**
   * A call that undoes part of the operation (a resume, a release), without events; a failure is logged and
   * completes the result exceptionally, translated.
   */
  CompletableFuture<Void> undo(String memberId, Phase phase, Tasks.Body body) {
    return undo.call("member " + memberId + " in " + phase + " (cleanup)", undoTimeout, () -> {
      body.run();
      return null;
    }).result().handle((v, e) -> {
      if (e != null) {
        log.error("cleanup of member {} in {} failed: {}", memberId, phase, Failures.unwrap(e).toString());
        throw Failures.translate(e, "member " + memberId + " in " + phase);
      }
      return null;
    });
  }

  /** {@code f} on every member at once; fails as soon as one call does. */
  static <M> CompletableFuture<Void> forAll(Collection<M> members, Function<? super M, ? extends CompletableFuture<?>> f) {
    return CompletableFuture.allOf(members.stream().map(f).toArray(CompletableFuture[]::new));
  }

  /** {@code f} on every member at once, each call's failure ignored: for undo, where every member must be tried. */
  static <M> CompletableFuture<Void> forAllQuietly(Collection<M> members,
      Function<? super M, ? extends CompletableFuture<?>> f) {
    return CompletableFuture.allOf(members.stream().map(m -> f.apply(m).handle((v, e) -> null))
        .toArray(CompletableFuture[]::new));
  }

  /**
   * {@code f} level after level (levels of member ids, from {@link Order}), the members of one level at once.
   * A level starts once the one before has completed; a failure stops the chain.
   */
  static <M> CompletableFuture<Void> byLevels(List<List<String>> levels, Map<String, M> members,
      Function<? super M, ? extends CompletableFuture<?>> f) {
    return byLevels(levels, members, f, false);
  }

  /** As {@link #byLevels}, every member tried whatever the others did: for undo. */
  static <M> CompletableFuture<Void> byLevelsQuietly(List<List<String>> levels, Map<String, M> members,
      Function<? super M, ? extends CompletableFuture<?>> f) {
    return byLevels(levels, members, f, true);
  }

  private static <M> CompletableFuture<Void> byLevels(List<List<String>> levels, Map<String, M> members,
      Function<? super M, ? extends CompletableFuture<?>> f, boolean quietly) {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (List<String> level : levels) {
      List<M> these = level.stream().map(members::get).toList();
      chain = chain.thenCompose(v -> quietly ? forAllQuietly(these, f) : forAll(these, f));
    }
    return chain;
  }

  /**
   * {@code f} on every member, at most {@code lanes} at once: each lane takes the next member when its last
   * one is done, until none is left or {@code stop} says to stop; fails as soon as one call does.
   */
  static <M> CompletableFuture<Void> inLanes(List<M> members, int lanes, BooleanSupplier stop,
      Function<? super M, ? extends CompletableFuture<?>> f) {
    AtomicInteger next = new AtomicInteger();
    int n = Math.min(lanes, Math.max(1, members.size()));
    CompletableFuture<?>[] running = new CompletableFuture[n];
    for (int i = 0; i < n; i++) {
      running[i] = lane(members, next, stop, f);
    }
    return CompletableFuture.allOf(running);
  }

  private static <M> CompletableFuture<Void> lane(List<M> members, AtomicInteger next, BooleanSupplier stop,
      Function<? super M, ? extends CompletableFuture<?>> f) {
    int i = next.getAndIncrement();
    if (i >= members.size() || stop.getAsBoolean()) {
      return CompletableFuture.completedFuture(null);
    }
    return f.apply(members.get(i)).thenCompose(v -> lane(members, next, stop, f));
  }

  /** Closes a member's driver (none yet is fine); a driver that fails to close is logged, nothing more. */
  static void close(String memberId, ResourceDriver driver) {
    if (driver == null) {
      return;
    }
    try {
      driver.close();
    } catch (Exception e) {
      log.debug("closing driver of {}: {}", memberId, e.toString());
    }
  }
}
