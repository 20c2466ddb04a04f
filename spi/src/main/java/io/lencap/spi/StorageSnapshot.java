package io.lencap.spi;

import io.lencap.api.Resource;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * Optional ability of a storage system to take a point-in-time image of a resource in one call: a SAN
 * array's LUN snapshot, a filer's export snapshot, a Ceph RBD snapshot behind an iSCSI gateway.
 * Implementations are found by {@link java.util.ServiceLoader}; a storage provider gets the one that
 * supports its resource from {@link ProviderContext#storageSnapshot}.
 *
 * <p>With one, a non-blocking capture holds the group only for {@link #take}, whatever the resource's size:
 * the cut takes the image, the group resumes, the transfer reads the image at the locator {@code take}
 * returned, and the release deletes it. Without one, the provider falls back to its own way (a pre-copy
 * and a final pass for a tree, a copy inside the pause for a LUN). Drivers answer
 * {@code extension(StorageSnapshot.class)} with the one they use.
 *
 * <p>A block storage that records what changed between two snapshots (Ceph RBD's {@code rbd diff}, a SAN's
 * snapshot delta) also answers {@link #changed}: a provider then keeps the previous capture's image until the
 * next capture has committed, reads only the changed ranges of the new image and takes the rest from its parent
 * checkpoint's chunks.
 */
public interface StorageSnapshot {
  /** Whether this implementation can snapshot the resource, judged without I/O from its locator and properties. */
  boolean supports(Resource resource);

  /**
   * Takes a read-only point-in-time image of the resource, named {@code name} (unique per checkpoint, of
   * {@code [A-Za-z0-9._-]}), and returns where the resource's own provider reads it: a locator of the
   * resource's scheme ({@code iscsi://gateway/iqn/2} for a LUN, {@code nfs://filer/vol/.snapshot/NAME} for a
   * tree). Called inside the quiesce window, so it should be the storage system's snapshot call and no more.
   */
  URI take(Resource resource, String name) throws Exception;

  /** Deletes the image; no error when it is already gone (crash repair may delete twice). */
  void delete(Resource resource, String name) throws Exception;

  /**
   * Where image {@code name} may differ from the older image {@code base}, both taken by {@link #take} of this
   * resource: byte ranges of the resource's content, in ascending order, not overlapping. Empty when the storage
   * cannot tell: it keeps no such record (the default), either image is unknown or deleted, {@code base} is not
   * older than {@code name}, the resource's storage object was replaced in between, or the storage could not be
   * asked.
   *
   * <p>Exactness: it may over-report, never under-report. Every byte of the resource written between the two
   * takes lies in a returned range (a write of the same bytes, a discard, a rollback included), so a provider
   * that reads only these ranges of {@code name} and takes every other byte from its copy of {@code base} holds
   * {@code name} exactly; a range may also cover bytes that did not change. Ranges are not beyond the resource's
   * size at {@code name}. No image is changed or deleted. Answered without the group paused: may take seconds.
   */
  default Optional<List<Extent>> changed(Resource resource, String base, String name) throws Exception {
    return Optional.empty();
  }

  /**
   * Whether {@link #changed} can answer at all for this resource, judged without I/O: a provider keeps an image
   * past its capture, for the next capture's diff, only then. False by default.
   */
  default boolean tellsChanges(Resource resource) {
    return false;
  }

  /**
   * A byte range of a resource's content, as {@link #changed} answers.
   *
   * @param offset first byte, from 0
   * @param length bytes, at least 1
   */
  record Extent(long offset, long length) {
    public Extent {
      if (offset < 0 || length < 1 || offset > Long.MAX_VALUE - length) {
        throw new IllegalArgumentException("extent offset " + offset + " and length " + length
            + " must be >= 0 and >= 1 and end within a long");
      }
    }

    /** The byte after the range. */
    public long end() {
      return offset + length;
    }
  }

  /** The name drivers give the image of a checkpoint: {@code lencap-} and its id, in the characters promised. */
  static String imageName(String checkpointId) {
    return "lencap-" + checkpointId.replaceAll("[^A-Za-z0-9._-]", "_");
  }
}
