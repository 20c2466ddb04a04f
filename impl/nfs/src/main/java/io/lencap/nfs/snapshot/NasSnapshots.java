package io.lencap.nfs.snapshot;

import io.lencap.api.Resource;
import java.net.URI;

/**
 * Optional hook for NAS servers that can snapshot an export (NetApp, ZFS, Isilon ...): found by
 * {@link java.util.ServiceLoader}. When one {@linkplain #supports supports} a resource, a non-blocking
 * capture needs no pre-copy: the cut takes a snapshot inside the quiesce window (a pause of one server call,
 * whatever the tree), the group resumes, and the transfer reads the snapshot. Without one, the provider
 * pre-copies and makes a short final pass instead. The driver answers
 * {@code extension(NasSnapshots.class)} with the hook it uses.
 */
public interface NasSnapshots {
  /** Whether this hook can snapshot the resource's export, judged without I/O. */
  boolean supports(Resource resource);

  /**
   * Takes a read-only point-in-time image of the resource's tree, named {@code name}, and returns an
   * {@code nfs://} locator where it can be read (for example {@code nfs://filer/vol1/.snapshot/NAME/path}).
   */
  URI take(Resource resource, String name) throws Exception;

  /** Deletes the snapshot; no error when it is already gone (also called by crash repair). */
  void delete(Resource resource, String name) throws Exception;
}
