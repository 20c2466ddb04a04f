package io.lencap.tree;

import io.lencap.api.CorruptCheckpointException;

/**
 * A checkpoint's manifest names something a restore must not write: a traversal name, an absolute path, a
 * symlink that would lead out of the tree. Thrown before anything is written; a structural
 * {@link CorruptCheckpointException} (no chunk id), so callers handle it as any unusable checkpoint.
 */
public final class UnsafeManifestException extends CorruptCheckpointException {
  private static final long serialVersionUID = 1L;

  public UnsafeManifestException(String checkpointId, String memberId, String problem) {
    super(checkpointId, memberId, "refused before writing anything: " + problem);
  }
}
