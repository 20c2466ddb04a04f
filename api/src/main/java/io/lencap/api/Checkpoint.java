package io.lencap.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * One committed, consistent image of a whole encapsulation at one recovery line.
 *
 * @param id unique, sortable by time ({@code 20261122T031055.123Z-3f9a})
 * @param encapsulation the encapsulation's name
 * @param parent the checkpoint this one is incremental to, if any
 * @param mode how it was captured
 * @param startedAt when the capture started
 * @param recoveryLine the instant at which every member had been cut while quiesced
 * @param committedAt when its manifest became visible
 * @param members each member's part, in the encapsulation's order
 * @param durability whether its copy on the durable tier has arrived ({@link Durability#SINGLE_STORE} when
 *     the instance has no durable tier)
 */
public record Checkpoint(String id, String encapsulation, Optional<String> parent, CaptureMode mode,
    Instant startedAt, Instant recoveryLine, Instant committedAt, List<MemberCheckpoint> members,
    Durability durability) {
  public Checkpoint {
    members = List.copyOf(members);
    Check.present("durability", durability);
  }

  /** A checkpoint of an instance with one store ({@link Durability#SINGLE_STORE}). */
  public Checkpoint(String id, String encapsulation, Optional<String> parent, CaptureMode mode, Instant startedAt,
      Instant recoveryLine, Instant committedAt, List<MemberCheckpoint> members) {
    this(id, encapsulation, parent, mode, startedAt, recoveryLine, committedAt, members, Durability.SINGLE_STORE);
  }

  /** This checkpoint with another durability. */
  public Checkpoint withDurability(Durability durability) {
    return new Checkpoint(id, encapsulation, parent, mode, startedAt, recoveryLine, committedAt, members,
        durability);
  }

  /** The group's pause: the longest member pause. */
  public Duration pause() {
    return members.stream().map(MemberCheckpoint::pause).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
  }

  public long logicalBytes() {
    return members.stream().mapToLong(MemberCheckpoint::logicalBytes).sum();
  }

  public long storedBytes() {
    return members.stream().mapToLong(MemberCheckpoint::storedBytes).sum();
  }

  public Optional<MemberCheckpoint> member(String id) {
    return members.stream().filter(m -> m.id().equals(id)).findFirst();
  }
}
