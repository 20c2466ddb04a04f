package io.lencap.core;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The engine's threads: one pool per kind of work, so that no kind waits for the threads another holds.
 * All are daemons; {@link #close()} stops them, except an executor the application gave.
 */
final class EngineThreads implements AutoCloseable {
  /** Threads for blocking provider calls: many members wait on I/O at once. */
  private static final int IO_THREADS = 64;

  /** Blocking provider and store calls: the application's executor, or a bounded pool of our own. */
  final Executor executor;
  /** Hashing, compression, encryption: CPU work. */
  final ExecutorService chunkPool;
  /** Chunk reads and writes wait on the backend, not on the CPU: as many threads as it serves well. */
  final ExecutorService storePool;
  /** Resuming a paused member must never wait for a thread: its own pool, which nothing else uses. */
  final ExecutorService resumePool;
  /** Time limits and watchdogs; events raised on it are delivered on {@link #eventThread}. */
  final ScheduledExecutorService timer;
  final ExecutorService eventThread;
  private final ExecutorService ownExecutor;

  /**
   * @param given the application's executor for blocking work, if it gave one
   * @param backendConcurrency how many requests the store backend serves well at once
   */
  EngineThreads(Optional<Executor> given, int backendConcurrency) {
    this.eventThread = Executors.newSingleThreadExecutor(daemons("lencap-events-%d"));
    this.resumePool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        daemons("lencap-resume-%d"));
    this.ownExecutor = given.isPresent() ? null : bounded(IO_THREADS, "lencap-io-%d");
    this.executor = given.isPresent() ? given.get() : ownExecutor;
    this.chunkPool = bounded(Runtime.getRuntime().availableProcessors() + 1, "lencap-chunk-%d");
    this.storePool = bounded(Math.max(1, backendConcurrency), "lencap-store-%d");
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, Events.timerThreads(daemons("lencap-timer-%d")));
    t.setRemoveOnCancelPolicy(true);
    this.timer = t;
  }

  private static ExecutorService bounded(int threads, String names) {
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), daemons(names));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private static ThreadFactory daemons(String format) {
    return new ThreadFactoryBuilder().setNameFormat(format).setDaemon(true).build();
  }

  /** Stops every pool of ours; events already queued are still delivered. */
  @Override
  public void close() {
    timer.shutdownNow();
    eventThread.shutdown();
    resumePool.shutdownNow();
    chunkPool.shutdownNow();
    storePool.shutdownNow();
    if (ownExecutor != null) {
      ownExecutor.shutdownNow();
    }
  }
}
