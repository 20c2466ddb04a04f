package io.lencap.api;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What kind of member a resource is. Unless its provider says otherwise, the kind decides ordering: writers
 * (VMs) are quiesced before the storage they write to and resumed after it; storage is restored before the
 * VMs that use it.
 */
public enum ResourceType {
  /** A virtual machine: a libvirt domain on KVM/QEMU or Xen. */
  VIRTUAL_MACHINE("vm"),
  /** A block device: an iSCSI LUN. */
  BLOCK_VOLUME("block"),
  /** A tree of files: an NFS export or a local directory. */
  FILE_TREE("tree");

  private final String shortName;

  ResourceType(String shortName) {
    this.shortName = shortName;
  }

  /** {@code vm}, {@code block} or {@code tree}. */
  public String shortName() {
    return shortName;
  }

  /** Whether members of this type are storage unless their provider says otherwise: all but VMs. */
  public boolean isStorage() {
    return this != VIRTUAL_MACHINE;
  }

  /** Parses a short name or enum name, case-insensitively; anything else is an {@link InvalidSpecException}. */
  public static ResourceType parse(String field, String text) {
    Check.present(field, text);
    for (ResourceType t : values()) {
      if (t.shortName.equalsIgnoreCase(text) || t.name().equalsIgnoreCase(text)) {
        return t;
      }
    }
    throw new InvalidSpecException(field, "unknown resource type '" + text + "'; known: "
        + Arrays.stream(values()).map(ResourceType::shortName).collect(Collectors.joining(", ")));
  }
}
