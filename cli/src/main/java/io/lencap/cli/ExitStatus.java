package io.lencap.cli;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.api.NotFoundException;
import io.lencap.api.ProviderNotFoundException;
import io.lencap.api.UnavailableException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The exit status of a command, by meaning, and the one line that says what happened and what to do. These
 * numbers are part of the command line's contract (docs/CLI.md): scripts test them.
 */
enum ExitStatus {
  OK(0, "ok", ""),
  FAILED(1, "failed", "see the message; run with LENCAP_LOG=debug for the engine's log"),
  USAGE(2, "usage", "run `lencap help COMMAND` for its options"),
  NOT_FOUND(3, "not-found", "run `lencap list` to see the groups and checkpoints in the store"),
  INVALID_SPEC(4, "invalid-spec", "fix the field named and run again"),
  CORRUPT(5, "corrupt", "restore an older checkpoint (`lencap list GROUP`); `lencap verify GROUP` names every "
      + "checkpoint that uses a bad chunk"),
  UNAVAILABLE(6, "unavailable", "check that the store or the member's host is reachable, then retry"),
  ABORTED(7, "aborted", "nothing was committed and every member was resumed; fix the cause and run again"),
  TIMEOUT(8, "timeout", "retry, or raise the policy's phaseTimeout or pauseBudget in the spec"),
  DRILL_FAILED(9, "drill-failed", "the report names the member or check that failed; the group itself was not "
      + "touched");

  final int code;
  final String word;
  final String hint;

  ExitStatus(int code, String word, String hint) {
    this.code = code;
    this.word = word;
    this.hint = hint;
  }

  /** The exception a command failed with, without the future's wrappers. */
  static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  static int codeOf(Throwable e) {
    return of(e).code;
  }

  static ExitStatus of(Throwable e) {
    Throwable t = unwrap(e);
    if (t instanceof picocli.CommandLine.ParameterException) {
      return USAGE;
    }
    if (t instanceof NotFoundException) {
      return NOT_FOUND;
    }
    if (t instanceof InvalidSpecException || t instanceof ProviderNotFoundException) {
      return INVALID_SPEC;
    }
    if (t instanceof CorruptCheckpointException) {
      return CORRUPT;
    }
    if (t instanceof UnavailableException) {
      return UNAVAILABLE;
    }
    if (t instanceof CaptureAbortedException || t instanceof CancellationException) {
      return ABORTED;
    }
    if (t instanceof LencapTimeoutException) {
      return TIMEOUT;
    }
    return FAILED;
  }

  /** {@code lencap: not-found: no checkpoint 'x' ... (run `lencap list` ...)}: one line, whatever the message holds. */
  static String line(Throwable e) {
    Throwable t = unwrap(e);
    ExitStatus s = of(t);
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    if (t instanceof CaptureAbortedException && t.getCause() != null && t.getCause().getMessage() != null
        && !message.contains(t.getCause().getMessage())) {
      message += ": " + t.getCause().getMessage();
    }
    return "lencap: " + s.word + ": " + oneLine(message) + " (" + s.hint + ")";
  }

  static String oneLine(String text) {
    return text.replaceAll("\\s*[\\r\\n]+\\s*", "; ").strip();
  }
}
