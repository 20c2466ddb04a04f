package io.lencap.tree;

import java.io.IOException;

/** A file operation's failure the engine acts on, by meaning; the message names the tree and the path. */
public class TreeFileException extends IOException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, as far as the engine cares. */
  public enum Reason {
    /** No such object (deleted under us). */
    NOT_FOUND,
    /** Something already has the name. */
    EXISTS,
    /** A handle no longer names an object (replaced on the server): look the path up again. */
    STALE,
    /** Anything else: the operation fails. */
    OTHER
  }

  private final Reason reason;

  public TreeFileException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  /** True when the error says the object is gone (deleted under us, or its handle went stale). */
  public static boolean vanished(IOException e) {
    return e instanceof TreeFileException t && (t.reason == Reason.NOT_FOUND || t.reason == Reason.STALE);
  }
}
