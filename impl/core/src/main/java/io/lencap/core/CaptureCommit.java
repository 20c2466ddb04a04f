package io.lencap.core;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.Phase;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The commit of one capture: the manifest of what its members stored, checked by each driver's restore-side
 * validation (no checkpoint is born unrestorable), its chunks named in the journal (a collection spares
 * them) and those reused from before proven present, then written atomically.
 */
final class CaptureCommit {
  private final RunContext run;
  private final Encapsulation encapsulation;
  private final String checkpointId;
  private final CaptureJournal journal;
  private final ChunkPacks packs;

  CaptureCommit(RunContext run, Encapsulation encapsulation, String checkpointId, CaptureJournal journal,
      ChunkPacks packs) {
    this.run = run;
    this.encapsulation = encapsulation;
    this.checkpointId = checkpointId;
    this.journal = journal;
    this.packs = packs;
  }

  /**
   * Commits, unless {@code aborted} says the capture was aborted before anything was written;
   * {@code writing} runs just before the first write, from when an abort must withdraw the manifest, and
   * {@code written} as soon as the manifest is committed, from when nothing aborts the capture.
   *
   * @param generation the store's generation when the capture started: a collection since then makes the
   *     commit check every chunk
   */
  Checkpoint commit(List<CaptureMember> members, Manifest parent, String generation, Instant startedAt,
      Instant recoveryLine, BooleanSupplier aborted, Runnable writing, Runnable written) {
    run.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.STARTED, null);
    try {
      packs.finish(); // the last pack: every member's transfer has ended
    } catch (IOException e) {
      throw new MemberFailure(null, Phase.COMMIT, e);
    }
    List<Manifest.Member> stored = new ArrayList<>();
    Map<String, Integer> referenced = new HashMap<>(); // stored whole or as deltas
    Map<String, String> deltas = new HashMap<>();
    // Each member's packed chunks with their slots: two members may hold one content in different slots (whole, and
    // as one's own delta), and each is proven where that member reads it.
    List<Map<String, Integer>> referencedPacked = new ArrayList<>();
    List<Map<String, ChunkPacks.Slot>> packed = new ArrayList<>();
    for (CaptureMember m : members) {
      // Each of these walks every entry or packed chunk of the member (20,000 of a small-file tree): once each.
      List<StoredEntry> entries = m.writer.entries();
      Map<String, String> memberDeltas = m.writer.deltas();
      Map<String, List<Manifest.Packed>> memberPacks = m.writer.packs();
      Map<String, ChunkPacks.Slot> slots = ChunkPacks.slots(memberPacks);
      Map<String, Integer> inPacks = new HashMap<>();
      m.writer.referencedChunks().forEach((id, length) -> (slots.containsKey(id) ? inPacks : referenced)
          .put(id, length)); // each as the member that names it will read it
      deltas.putAll(memberDeltas);
      referencedPacked.add(inPacks);
      packed.add(slots);
      long pauseNanos = m.pauseNanos(); // first: it notes a pause the provider measured
      stored.add(new Manifest.Member(m.id(), m.resource.type(), m.resource.locator().toString(),
          m.resource.properties(), m.provider.name(), pauseNanos, m.writer.logicalBytes(), m.writer.storedBytes(),
          m.context.method, List.copyOf(m.context.notes), m.writer.attributes(), entries, memberDeltas, memberPacks));
    }
    Manifest manifest = new Manifest(Manifest.formatOf(stored), checkpointId, encapsulation.name(),
        parent == null ? null : parent.id(), encapsulation.policy().mode(), startedAt, recoveryLine,
        run.clock().instant(), stored);
    if (aborted.getAsBoolean()) {
      throw new CancellationException("capture aborted before commit");
    }
    validate(members, manifest);
    writing.run();
    try {
      // Name the manifest's chunks in the journal first, so that a collection from now on spares them.
      journal.nameChunks(CheckpointStore.namedObjects(manifest));
      Set<String> damaged = new java.util.HashSet<>(run.store().chunks().unproven(referenced, deltas, false));
      for (int i = 0; i < packed.size(); i++) {
        damaged.addAll(run.store().chunks().unproven(referencedPacked.get(i), Map.of(), packed.get(i), false));
      }
      if (!damaged.isEmpty()) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "chunk " + damaged.iterator().next() + " ("
            + damaged.size() + " in all) that this capture reuses from " + (parent == null ? "the store" : "checkpoint "
            + parent.id()) + " is missing or damaged in " + run.store().describe() + "; nothing was committed,"
            + " and the next capture reads that data again", null);
      }
      run.store().commit(manifest, generation, encapsulation.policy().phaseTimeout());
      written.run();
    } catch (IOException e) {
      throw new MemberFailure(null, Phase.COMMIT, e);
    }
    run.events().phase(encapsulation.name(), checkpointId, null, Phase.COMMIT, Status.COMPLETED, null);
    return manifest.toCheckpoint().withDurability(run.store().committedAs());
  }

  /** Runs each driver's restore-side validation on what this capture stored. */
  private void validate(List<CaptureMember> members, Manifest manifest) {
    for (CaptureMember m : members) {
      Manifest.Member stored = manifest.member(m.id()).orElseThrow();
      try {
        m.driver.validate(new StoredStateView(run.store(), run.storePool(), checkpointId, stored));
      } catch (Exception e) {
        throw new MemberFailure(m.id(), Phase.COMMIT, e);
      }
    }
  }
}
