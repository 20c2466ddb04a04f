package io.lencap.iscsi;

import io.lencap.api.CaptureMode;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.UnavailableException;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.IncrementalCopy;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StoredEntry;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captures and restores one LUN. The LUN is read whole in fixed, block-aligned chunks; the store keeps only chunks
 * it lacks. Fixed, not content-defined: a disk changes in place, and content-defined chunks of the same average
 * stored 1.4-2.7 times more after in-place writes (BENCHMARKS.md, LunChunkingStudy).
 *
 * <p>When a {@link StorageSnapshot} supports the LUN, a non-blocking cut takes a snapshot and the transfer reads
 * it after the group resumes; where the storage can tell what changed since the parent's snapshot, only those
 * chunks ({@link LunTracking}). A plain iSCSI target cannot snapshot, so there the cut is in place: the engine copies
 * the LUN before it resumes the group (unless the LUN's writers redirect their writes), and the capture says so.
 * Restore reads the target LUN, writes only the chunks that differ ({@link LunRestore}).
 */
final class LunDriver implements ResourceDriver {

  private static final Logger LOG = LoggerFactory.getLogger(LunDriver.class);
  static final String ENTRY = "lun";
  static final String ATTR_BYTES = "lun.bytes";
  static final String ATTR_BLOCK_SIZE = "lun.blockSize";
  static final String SNAPSHOT = "snapshot";
  static final String SNAPSHOT_LOCATOR = "snapshot.locator";

  private final Resource resource;
  private final LunSpec spec;
  private final Optional<StorageSnapshot> snapshots;
  private final boolean tracking;
  private final Path workDirectory;
  private final SessionPool sessions;
  private IscsiSession session;
  /** The capture whose transfer completed: if its release is not an abort's, it committed. */
  private volatile CaptureContext transferred;
  /** Whether that transfer read a snapshot the next capture may diff against. */
  private volatile boolean keep;

  LunDriver(Resource resource, LunSpec spec, Optional<StorageSnapshot> snapshots, Path workDirectory) {
    this(resource, spec, snapshots, workDirectory, SessionPool.none());
  }

  LunDriver(Resource resource, LunSpec spec, Optional<StorageSnapshot> snapshots, Path workDirectory,
      SessionPool sessions) {
    this.resource = resource;
    this.sessions = sessions;
    this.spec = spec;
    this.snapshots = snapshots;
    this.tracking = LunTracking.enabled(resource);
    this.workDirectory = workDirectory;
  }

  private KeptImages kept(CaptureContext context) {
    return new KeptImages(workDirectory, context.encapsulation(), spec.id(), spec.address());
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.RESTORE_ELSEWHERE, Capability.DIFFERENTIAL_RESTORE);
  }

  private IscsiSession session() {
    if (session == null) {
      try {
        session = sessions.take(spec);
      } catch (IscsiException e) {
        throw translate(e);
      }
    }
    return session;
  }

  // ---------------------------------------------------------------- capture

  @Override
  public void prepare(CaptureContext context) {
    IscsiSession s = session();
    LOG.debug("{}: {} blocks of {} bytes", spec.id(), s.blockCount(), s.blockSize());
    if (spec.chunkSize() % s.blockSize() != 0) {
      throw new InvalidSpecException("resources[" + spec.id() + "].properties." + LunSpec.CHUNK_SIZE,
        "chunk size " + spec.chunkSize() + " is not a multiple of the LUN's block size " + s.blockSize());
    }
    context.state().expectBytes(s.sizeBytes());
    // Flushed once while the group runs, so that the flush in the pause finds little left to write (after a bulk
    // write, istgt's flush of a 512 MiB LUN took 245-330 ms inside the pause).
    run(s::synchronizeCache);
  }

  /** Flushes the target's write cache: the writers (VMs) are already quiesced. */
  @Override
  public void quiesce() {
    run(() -> session().synchronizeCache());
  }

  @Override
  public Cut cut(CaptureContext context) throws Exception {
    if (snapshots.isPresent() && context.mode() == CaptureMode.NON_BLOCKING) {
      String name = StorageSnapshot.imageName(context.checkpointId());
      if (tracking && snapshots.get().tellsChanges(resource)) {
        kept(context).add(name); // before the take: a crash after it must not lose the name
      }
      URI at = snapshots.get().take(resource, name);
      context.method("storage-snapshot");
      return Cut.live(Map.of(SNAPSHOT, name, SNAPSHOT_LOCATOR, at.toString()));
    }
    context.method("in-place-copy");
    context.note("LUN " + spec.address() + " has no storage snapshot: copied inside the quiesce window");
    return Cut.inPlace();
  }

  @Override
  public void resume() {
    // Nothing was stopped on the target itself.
  }

  @Override
  public void transfer(Cut cut, CaptureContext context) {
    String snapshot = cut.artefacts().get(SNAPSHOT_LOCATOR);
    String name = cut.artefacts().get(SNAPSHOT);
    if (snapshot == null || name == null || snapshots.isEmpty()) {
      transfer(session(), context, LunTracking.Plan.whole("an in-place cut"));
      context.parent().map(p -> p.attributes().get(LunTracking.KEPT))
          .ifPresent(p -> context.state().attribute(LunTracking.PREVIOUS, p));
      transferred = context;
      return;
    }
    // The snapshot is another LUN, reached with the LUN's own credentials and tunables.
    Resource.Builder image = Resource.builder(resource.id()).type(resource.type()).locator(snapshot);
    resource.properties().forEach(image::property);
    resource.secrets().forEach(image::secret);
    try (IscsiSession s = LunSpec.of(image.build()).connect()) {
      boolean diffs = tracking && snapshots.get().tellsChanges(resource);
      LunTracking.Plan plan = diffs
          ? LunTracking.plan(context, snapshots.get(), spec, name, s.sizeBytes(), s.blockSize())
          : LunTracking.Plan.whole(tracking ? "the LUN's storage snapshot cannot tell what changed between images"
              : LunTracking.PROPERTY + "=none");
      transfer(s, context, plan);
      if (diffs) {
        context.state().attribute(LunTracking.KEPT, name);
      }
      context.parent().map(p -> p.attributes().get(LunTracking.KEPT))
          .ifPresent(p -> context.state().attribute(LunTracking.PREVIOUS, p));
      keep = diffs;
      transferred = context;
    } catch (IscsiException e) {
      throw translate(e);
    }
  }

  /** Copies the LUN in fixed chunks: whole, or the plan's changed ranges over the parent's copy. */
  private void transfer(IscsiSession s, CaptureContext context, LunTracking.Plan plan) {
    long size = s.sizeBytes();
    Map<String, String> attributes = Map.of(ATTR_BYTES, Long.toString(size),
      ATTR_BLOCK_SIZE, Integer.toString(s.blockSize()));
    attributes.forEach(context.state()::attribute);
    context.state().attribute(LunTracking.LOCATOR, spec.address().toUri().toString());
    int chunk = spec.chunkSize();
    long[] read = {0};
    int[] unverified = {0};
    run(() -> {
      EntryWriter writer = context.state().create(ENTRY, EntryKind.FILE, attributes, Chunking.fixed(chunk));
      if (plan.whole()) {
        s.stream(0, size, chunk, (offset, data) -> {
          context.checkCancelled();
          read[0] += data.remaining();
          writer.write(data);
        });
      } else {
        try (IncrementalCopy copy = new IncrementalCopy(writer, context.parent().orElseThrow(), plan.parent().get(),
            chunk, plan.changed(), (offset, dst) -> s.read(offset / s.blockSize(), dst))) {
          // All the ranges in one stream, so that scattered ones are read with commands in flight.
          s.stream(copy.reads().stream().map(e -> new long[] {e.offset(), e.length()}).toList(), chunk,
              (offset, data) -> {
                context.checkCancelled();
                copy.accept(offset, data);
              });
          copy.finish();
          read[0] = copy.read();
          unverified[0] = copy.unverified();
        }
      }
      writer.close(); // only a complete copy: an entry left open is not part of the checkpoint
    });
    context.state().attribute(LunTracking.READ, Long.toString(read[0]));
    if (unverified[0] > 0) {
      context.note(unverified[0] + " of the parent's chunks failed verification: their chunks were read whole");
    }
    context.note(plan.whole() ? "LUN read whole (" + size + " bytes): " + plan.why()
        : String.format("LUN read %d of %d bytes (%.2f%%), %s; the rest is the parent's", read[0], size,
            size == 0 ? 0.0 : 100.0 * read[0] / size, plan.why()));
  }

  @Override
  public void release(Cut cut) throws Exception {
    String name = cut.artefacts().get(SNAPSHOT);
    CaptureContext captured = transferred;
    // Released after the commit (an abort cancels first): the parent's kept image is no longer anybody's base.
    boolean committed = captured != null && !captured.isCancelled();
    if (committed && snapshots.isPresent()) {
      KeptImages images = kept(captured);
      Set<String> older = new TreeSet<>(LunTracking.previous(captured.parent()));
      older.addAll(images.names());
      for (String old : older) {
        if (!old.equals(name)) {
          snapshots.get().delete(resource, old);
        }
      }
      images.replace(keep && name != null ? Set.of(name) : Set.of());
    }
    if (name == null) {
      return; // an in-place cut creates nothing
    }
    if (snapshots.isEmpty()) {
      throw new UnavailableException(spec.id() + ": cannot delete storage snapshot " + name
          + ": no StorageSnapshot supports this LUN any more");
    }
    if (committed && keep) {
      return; // the next capture's base. Crash repair (no capture here) deletes it: the next reads the LUN whole
    }
    snapshots.get().delete(resource, name);
  }

  // ---------------------------------------------------------------- restore

  @Override
  public void prepareRestore(RestoreContext context) {
    StoredEntry entry = storedLun(context);
    IscsiSession s = session();
    String field = context.inPlace() ? "resources[" + spec.id() + "].locator" : "placement[" + spec.id() + "].locator";
    if (s.sizeBytes() < entry.size()) {
      throw new InvalidSpecException(field, "LUN " + spec.address() + " holds " + s.sizeBytes()
        + " bytes, the checkpoint's LUN " + entry.size() + ": choose a LUN at least as large");
    }
    for (ChunkRef chunk : entry.chunks()) {
      if (chunk.offset() % s.blockSize() != 0 || chunk.length() % s.blockSize() != 0) {
        throw new InvalidSpecException(field, "LUN " + spec.address() + " has " + s.blockSize()
          + "-byte blocks, which the checkpoint's chunks do not align with");
      }
    }
  }

  @Override
  public void restore(RestoreContext context) {
    StoredEntry entry = storedLun(context);
    IscsiSession s = session();
    int piece = entry.chunks().isEmpty() ? spec.chunkSize() : entry.chunks().get(0).length();
    run(() -> new LunRestore(s, context, entry, spec.id()).run(piece));
  }

  /**
   * The stored LUN, its chunk list checked before anything is sized from it: the restore allocates read buffers
   * of the chunk length (several in flight), so a manifest must not choose their size. Chunks are the fixed,
   * contiguous pieces capture writes, none above the format's {@link Chunking#MAX_CHUNK}.
   */
  private StoredEntry storedLun(RestoreContext context) {
    StoredEntry entry = context.state().entry(ENTRY).orElseThrow(() -> new CorruptCheckpointException(
      context.checkpointId(), spec.id(), "-", "the stored state has no '" + ENTRY + "' entry"));
    int first = entry.chunks().isEmpty() ? 0 : entry.chunks().get(0).length();
    long next = 0;
    for (int i = 0; i < entry.chunks().size(); i++) {
      ChunkRef chunk = entry.chunks().get(i);
      boolean last = i == entry.chunks().size() - 1;
      String wrong = chunk.length() <= 0 || chunk.length() > Chunking.MAX_CHUNK
        ? "has length " + chunk.length() + ", outside 1.." + Chunking.MAX_CHUNK + " bytes (the format's chunk limit)"
        : chunk.offset() != next ? "starts at " + chunk.offset() + " where " + next + " was expected"
        : !last && chunk.length() != first ? "has length " + chunk.length() + " where the LUN's chunks have " + first
        : last && chunk.length() > first ? "is longer than the LUN's chunks (" + first + " bytes)"
        : null;
      if (wrong != null) {
        throw new CorruptCheckpointException(context.checkpointId(), spec.id(), chunk.id(),
          "LUN chunk " + i + " " + wrong + ": refusing to restore from it");
      }
      next += chunk.length();
    }
    if (next != entry.size()) {
      throw new CorruptCheckpointException(context.checkpointId(), spec.id(), "the LUN's chunks cover " + next + " bytes, the entry says " + entry.size());
    }
    return entry;
  }

  // ---------------------------------------------------------------- health, lifecycle

  @Override
  public <T> Optional<T> extension(Class<T> type) {
    return type == StorageSnapshot.class ? snapshots.map(type::cast) : Optional.empty();
  }

  @Override
  public void close() {
    if (session != null) {
      sessions.give(spec, session);
      session = null;
    }
  }

  @FunctionalInterface
  interface IoAction {
    void run() throws java.io.IOException;
  }

  private void run(IoAction action) {
    run(spec, action);
  }

  /** Runs I/O on the LUN, its failures translated. */
  static void run(LunSpec spec, IoAction action) {
    try {
      action.run();
    } catch (IscsiException e) {
      throw translate(spec, e);
    } catch (java.io.IOException e) {
      throw new UnavailableException(spec.id() + ": " + e.getMessage(), e);
    }
  }

  private LencapException translate(IscsiException e) {
    return translate(spec, e);
  }

  /** The one place where iSCSI failures become Lencap's exceptions. Messages never hold secrets. */
  private static LencapException translate(LunSpec spec, IscsiException e) {
    String message = "resource " + spec.id() + ": " + e.getMessage();
    if (e.reason() == IscsiException.Reason.NOT_FOUND) {
      NotFoundException nf = new NotFoundException(message);
      nf.initCause(e);
      return nf;
    }
    return new UnavailableException(message, e);
  }

  @Override
  public String toString() {
    return "LunDriver[" + spec + "]";
  }
}
