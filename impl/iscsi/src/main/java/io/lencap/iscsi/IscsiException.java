package io.lencap.iscsi;

import java.io.IOException;

/** A failure talking to an iSCSI target, classified so that the driver can map it to Lencap's errors in one place. */
final class IscsiException extends IOException {

  private static final long serialVersionUID = 1L;

  enum Reason {
    /** The target or the LUN does not exist. */
    NOT_FOUND,
    /** CHAP failed, or the target wants credentials we do not have. */
    AUTHENTICATION,
    /** The connection broke, timed out or the target went away. */
    UNAVAILABLE,
    /** The target answered something we cannot use. */
    PROTOCOL,
    /** A SCSI command failed with a status or sense. */
    SCSI
  }

  private final Reason reason;

  IscsiException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  IscsiException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  Reason reason() {
    return reason;
  }
}
