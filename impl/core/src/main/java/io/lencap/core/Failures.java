package io.lencap.core;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.ProviderNotFoundException;
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

  /**
   * What an aborted capture completes with: a {@link CaptureAbortedException} naming the member and phase the
   * failure is attributed to, with the translated failure as its cause; a missing provider as itself.
   */
  static RuntimeException captureAborted(String encapsulation, Throwable cause) {
    if (cause instanceof CaptureAbortedException ca) {
      return ca;
    }
    if (cause instanceof MemberFailure f) {
      RuntimeException translated = f.translated();
      return new CaptureAbortedException(f.memberId, f.phase, "capture of " + encapsulation + " aborted: "
          + translated.getMessage(), translated);
    }
    if (cause instanceof ProviderNotFoundException pnf) {
      return pnf;
    }
    RuntimeException translated = translate(cause, "capture of " + encapsulation);
    return new CaptureAbortedException(null, null, "capture of " + encapsulation + " aborted: "
        + translated.getMessage(), translated);
  }
}
