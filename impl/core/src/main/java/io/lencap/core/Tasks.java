package io.lencap.core;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.MDC;

/**
 * Runs blocking provider calls on the engine's executor with a time limit. A call that times out or is
 * cancelled has its thread interrupted, so the limit reaches the provider's operation.
 */
final class Tasks {
  private final Executor executor;
  private final ScheduledExecutorService timer;
  private final Map<Task<?>, Boolean> running = new ConcurrentHashMap<>();

  Tasks(Executor executor, ScheduledExecutorService timer) {
    this.executor = executor;
    this.timer = timer;
  }

  /**
   * A call: its result, and the moment its body really returned (later than the result after a
   * timeout: a provider may ignore the interrupt for a while).
   */
  record Call<T>(CompletableFuture<T> result, CompletableFuture<Void> finished) {}

  /**
   * A call whose time limit starts when its body starts running, not when it is queued: a call waiting for a
   * thread has not used any of its time.
   */
  <T> Call<T> call(String what, Duration timeout, Callable<T> body) {
    Task<T> task = new Task<>(body);
    running.put(task, Boolean.TRUE);
    task.finished.whenComplete((v, e) -> running.remove(task));
    task.onStart = () -> {
      ScheduledFuture<?> limit = timer.schedule(() -> {
        if (task.result.completeExceptionally(new TimeoutException(what + " took longer than " + timeout))) {
          task.cancel();
        }
      }, timeout.toNanos(), TimeUnit.NANOSECONDS);
      task.result.whenComplete((v, e) -> limit.cancel(false));
    };
    try {
      executor.execute(task);
    } catch (RuntimeException rejected) {
      task.result.completeExceptionally(rejected);
      task.finished.complete(null);
    }
    return new Call<>(task.result, task.finished);
  }

  /** A provider call without a result. */
  interface Body {
    void run() throws Exception;
  }

  /** A member's provider call, run with the log context (MDC) naming its encapsulation, checkpoint and member. */
  Call<Void> callFor(String encapsulation, String checkpointId, String memberId, String phase, Duration timeout,
      Body body) {
    return call("member " + memberId + " in " + phase, timeout, () -> {
      try (var e = MDC.putCloseable("lencap.encapsulation", encapsulation);
           var k = MDC.putCloseable("lencap.checkpoint", checkpointId);
           var r = MDC.putCloseable("lencap.member", memberId)) {
        body.run();
      }
      return null;
    });
  }

  /** Interrupts every call under way; their results complete with a cancellation. */
  void cancelAll(String why) {
    for (Task<?> t : running.keySet()) {
      t.result.completeExceptionally(new CancellationException(why));
      t.cancel();
    }
  }

  /** A call's body with its own interruption: the runner is interrupted only while it runs this body. */
  private static final class Task<T> implements Runnable {
    final CompletableFuture<T> result = new CompletableFuture<>();
    final CompletableFuture<Void> finished = new CompletableFuture<>();
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final Callable<T> body;
    private Thread runner;
    volatile Runnable onStart = () -> { };

    Task(Callable<T> body) {
      this.body = body;
    }

    @Override
    public void run() {
      if (!claimed.compareAndSet(false, true)) {
        return; // cancelled before it started
      }
      try {
        onStart.run();
      } catch (RuntimeException rejected) { // the timer is gone: the engine is closing
        result.completeExceptionally(rejected);
        finished.complete(null);
        return;
      }
      synchronized (this) {
        runner = Thread.currentThread();
      }
      T value = null;
      Throwable failure = null;
      try {
        value = body.call();
      } catch (Throwable t) {
        failure = t;
      } finally {
        synchronized (this) {
          runner = null;
        }
        Thread.interrupted(); // an interrupt meant for this body must not hit what runs next on this thread
      }
      // Complete only now: dependent stages run on this thread and must not be interrupted as the body's.
      if (failure == null) {
        result.complete(value);
      } else {
        result.completeExceptionally(failure);
      }
      finished.complete(null);
    }

    void cancel() {
      if (claimed.compareAndSet(false, true)) {
        finished.complete(null);
        return;
      }
      synchronized (this) {
        if (runner != null) {
          runner.interrupt();
        }
      }
    }
  }
}
