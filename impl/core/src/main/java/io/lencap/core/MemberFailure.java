package io.lencap.core;

import io.lencap.api.Phase;

/** A failure of a run attributed to a member (or to the group, with a null id) and a phase. */
final class MemberFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final String memberId;
  final Phase phase;

  MemberFailure(String memberId, Phase phase, Throwable cause) {
    super((memberId == null ? "group" : memberId) + " in " + phase + ": " + cause, cause, false, false);
    this.memberId = memberId;
    this.phase = phase;
  }

  /** The cause as Lencap's exception, saying where it happened, e.g. "member vm1 in QUIESCE: ...". */
  RuntimeException translated() {
    return Failures.translate(getCause(), (memberId == null ? "" : "member " + memberId + " ") + "in " + phase);
  }
}
