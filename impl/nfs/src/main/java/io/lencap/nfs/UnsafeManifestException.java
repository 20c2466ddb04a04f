package io.lencap.nfs;

import io.lencap.api.LencapException;

/**
 * A checkpoint's manifest names something a restore must not write: a traversal name, an absolute path, a
 * symlink that would lead out of the export. Thrown before anything is written.
 */
final class UnsafeManifestException extends LencapException {
  private static final long serialVersionUID = 1L;

  UnsafeManifestException(String checkpointId, String memberId, String problem) {
    super("checkpoint " + checkpointId + ", member " + memberId + ": refused before writing anything: " + problem);
  }
}
