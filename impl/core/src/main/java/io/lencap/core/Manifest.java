package io.lencap.core;

import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.MemberCheckpoint;
import io.lencap.api.ResourceType;
import io.lencap.spi.StoredEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A committed checkpoint as stored: JSON under {@code checkpoints/<encapsulation>/<id>}. Its presence
 * is the commit; it names every chunk the checkpoint needs.
 */
record Manifest(int format, String id, String encapsulation, String parent, CaptureMode mode,
    Instant startedAt, Instant recoveryLine, Instant committedAt, List<Member> members) {
  static final int FORMAT = 1;

  /** One member's stored state and figures. Locator and properties, never secrets. */
  record Member(String id, ResourceType type, String locator, Map<String, String> properties,
      String provider, long pauseNanos, long logicalBytes, long storedBytes, String method,
      List<String> notes, Map<String, String> attributes, List<StoredEntry> entries) {}

  Optional<Member> member(String memberId) {
    return members.stream().filter(m -> m.id().equals(memberId)).findFirst();
  }

  Checkpoint toCheckpoint() {
    return new Checkpoint(id, encapsulation, Optional.ofNullable(parent), mode, startedAt, recoveryLine,
        committedAt, members.stream().map(m -> new MemberCheckpoint(m.id(), m.type(), m.provider(),
            Duration.ofNanos(m.pauseNanos()), m.logicalBytes(), m.storedBytes(), m.method(), m.notes()))
            .toList());
  }
}
