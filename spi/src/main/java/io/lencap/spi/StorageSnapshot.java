package io.lencap.spi;

import io.lencap.api.Resource;
import java.net.URI;

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

  /** The name drivers give the image of a checkpoint: {@code lencap-} and its id, in the characters promised. */
  static String imageName(String checkpointId) {
    return "lencap-" + checkpointId.replaceAll("[^A-Za-z0-9._-]", "_");
  }
}
