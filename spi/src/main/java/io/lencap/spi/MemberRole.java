package io.lencap.spi;

import io.lencap.api.ResourceType;

/**
 * The part a member plays in a group's ordering, as its provider states it
 * ({@link ResourceProvider#role}). Writers are quiesced before the storage they write to and resumed after
 * it; storage is restored before its writers, and every writer depends on every storage member of its group.
 */
public enum MemberRole {
  /** Writes to the group's storage: a VM. */
  WRITER,
  /** Is written to: a LUN, an export, a directory tree. */
  STORAGE;

  /** The role a member of this type plays unless its provider says otherwise: VMs write, the rest is storage. */
  public static MemberRole byType(ResourceType type) {
    return type == ResourceType.VIRTUAL_MACHINE ? WRITER : STORAGE;
  }
}
