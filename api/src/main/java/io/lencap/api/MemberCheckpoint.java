package io.lencap.api;

import java.time.Duration;
import java.util.List;

/**
 * One member's part of a {@link Checkpoint}.
 *
 * @param id the member's resource id
 * @param type the member's type
 * @param provider the provider that captured it
 * @param pause how long the member was quiesced: the pause its provider measured when it measured one (a
 *     live snapshot stops a guest for part of the cut only), else from the start of its quiesce to the end of
 *     its resume
 * @param logicalBytes bytes of state the member had at the recovery line
 * @param storedBytes bytes this capture added to the store for it (after dedup and compression)
 * @param method how its state was cut, as the provider says (e.g. {@code live-external-snapshot},
 *     {@code copy-in-pause})
 * @param notes what else the provider wants users to know (fallbacks taken, limits met)
 */
public record MemberCheckpoint(String id, ResourceType type, String provider, Duration pause,
    long logicalBytes, long storedBytes, String method, List<String> notes) {
  public MemberCheckpoint {
    notes = List.copyOf(notes);
  }
}
