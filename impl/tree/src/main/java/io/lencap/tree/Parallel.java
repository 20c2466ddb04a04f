package io.lencap.tree;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/** Runs tasks on the driver's bounded pool and waits for all; the first failure cancels the rest. */
final class Parallel {
  private Parallel() {}

  static <T> List<T> all(ExecutorService pool, List<? extends Callable<T>> tasks) throws Exception {
    List<Future<T>> futures = new ArrayList<>(tasks.size());
    try {
      for (Callable<T> t : tasks) {
        futures.add(pool.submit(t));
      }
      List<T> out = new ArrayList<>(tasks.size());
      for (Future<T> f : futures) {
        out.add(f.get());
      }
      return out;
    } catch (ExecutionException e) {
      throw unwrap(e);
    } finally {
      for (Future<T> f : futures) {
        f.cancel(true); // no-op for finished ones; interrupts the rest after a failure or an interrupt
      }
    }
  }

  private static Exception unwrap(ExecutionException e) {
    Throwable c = e.getCause();
    if (c instanceof Exception ex) {
      return ex;
    }
    if (c instanceof Error err) {
      throw err;
    }
    return new CancellationException(String.valueOf(c));
  }
}
