package io.lencap.spi;

import java.util.Optional;
import java.util.Set;

/**
 * Works one resource through one capture or one restore. Methods block; the engine calls them on its
 * own threads, in parallel across members, with timeouts, and interrupts them on cancellation. Errors
 * are thrown as they come (libvirt's, jSCSI's, {@link java.io.IOException}s): the engine translates them
 * into Lencap's exceptions. Throw {@link io.lencap.api.LencapException} subclasses to choose the meaning.
 *
 * <p>A capture calls {@code prepare, quiesce, cut, resume, transfer}, then {@code release} after commit or
 * abort. A failure after {@code quiesce} always leads to {@code resume}. A restore calls
 * {@code prepareRestore} on every member before any {@code restore}, then {@code resume}. Health between
 * operations is a {@link Watcher}'s.
 */
public interface ResourceDriver extends AutoCloseable {

  Set<Capability> capabilities();

  /**
   * Connects and checks that the member can be captured (reachable, capabilities, space). Nothing is
   * paused yet; a failure here aborts cheaply. A driver with {@link Capability#PRE_COPY} may write
   * entries into {@code context.state()} here while the member runs.
   */
  void prepare(CaptureContext context) throws Exception;

  /** Stops mutation: pause the VM or freeze its file systems, flush the volume. */
  void quiesce() throws Exception;

  /**
   * Takes the point-in-time mark while quiesced. Cheap when it can be live (snapshot, overlay). May write
   * small or final state into {@code context.state()} (a pre-copying driver writes what changed since).
   */
  Cut cut(CaptureContext context) throws Exception;

  /** Lets the member run again. Idempotent: must succeed on a member that is not quiesced. */
  void resume() throws Exception;

  /** Streams the cut's state into {@code context.state()}; in the background for a live cut. */
  void transfer(Cut cut, CaptureContext context) throws Exception;

  /**
   * Cleans up what the cut created (merges overlays back, deletes snapshots), after commit or abort.
   * Also called by crash repair with a cut rebuilt from the journal. Idempotent.
   */
  void release(Cut cut) throws Exception;

  /**
   * Checks that the target can take the stored state (exists or can be created, capacity, access),
   * changing nothing. Called on every member before any member is restored.
   */
  void prepareRestore(RestoreContext context) throws Exception;

  /**
   * Writes the stored state onto the target (this driver's resource). A VM is left paused: the engine
   * resumes the group together. Before storage is restored, the engine quiesces existing writers.
   */
  void restore(RestoreContext context) throws Exception;

  /**
   * Checks, before the checkpoint is committed, that the state this capture stored for the member is
   * what {@link #prepareRestore} would accept: the same validation a restore runs, on the stored
   * entries (read them with {@link StoredState#read} only if the validation needs content). Throwing
   * aborts the capture with nothing committed, so that no checkpoint is born unrestorable.
   */
  default void validate(StoredState state) throws Exception {}

  /** An optional ability, such as {@link StorageSnapshot}; empty when the driver lacks it. */
  default <T> Optional<T> extension(Class<T> type) {
    return Optional.empty();
  }

  /** Releases connections. Called once, after the operation. */
  @Override
  default void close() throws Exception {}
}
