package io.lencap.core;

import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.UnavailableException;
import java.io.IOException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Translates what providers and backends throw into Lencap's exceptions, in one place. */
final class Failures {
  private Failures() {}

  /** The meaningful exception inside wrappers. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** A Lencap exception (or cancellation) for a failure of {@code what}, e.g. "member vm1 in QUIESCE". */
  static RuntimeException translate(Throwable thrown, String what) {
    Throwable t = unwrap(thrown);
    if (t instanceof LencapException le) {
      return le;
    }
    if (t instanceof CancellationException ce) {
      return ce;
    }
    if (t instanceof InterruptedException) {
      CancellationException ce = new CancellationException(what + ": interrupted");
      ce.initCause(t);
      return ce;
    }
    if (t instanceof TimeoutException) {
      return new LencapTimeoutException(what + ": " + t.getMessage());
    }
    if (t instanceof IOException) {
      return new UnavailableException(what + ": " + t.getMessage(), t);
    }
    return new LencapException(what + ": " + t, t);
  }
}
