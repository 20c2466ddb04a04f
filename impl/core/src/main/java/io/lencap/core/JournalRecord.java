package io.lencap.core;

import io.lencap.api.ResourceType;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A capture in flight, recorded before anything is quiesced so that a later process can resume its
 * members and release its cuts if this one dies, and before commit with the chunks it reuses, so that
 * a collection in any process spares them. Holds locators and properties, never secrets.
 */
record JournalRecord(String captureId, String encapsulation, Owner owner, Instant startedAt,
    List<Member> members, Set<String> reused) {

  /** The process that runs the capture. */
  record Owner(String host, long pid, Instant processStart) {}

  /** A member as the repair needs it: how to reach it, and what its cut left behind. */
  record Member(String id, ResourceType type, String locator, Map<String, String> properties,
      Map<String, String> cutArtefacts) {}

  JournalRecord(String captureId, String encapsulation, Owner owner, Instant startedAt, List<Member> members) {
    this(captureId, encapsulation, owner, startedAt, members, Set.of());
  }

  JournalRecord withMembers(List<Member> updated) {
    return new JournalRecord(captureId, encapsulation, owner, startedAt, updated, reused);
  }

  /** Chunks the capture names without having written them: a collection must spare them. */
  JournalRecord withReused(Set<String> ids) {
    return new JournalRecord(captureId, encapsulation, owner, startedAt, members, Set.copyOf(ids));
  }
}
