package io.lencap.libvirt;

import java.util.List;
import java.util.Set;

/**
 * What prepare found of a domain to capture; the cut, the transfer and the resume go by it.
 *
 * @param uuid the domain's UUID, which the cut's artefacts name
 * @param state its state when the capture began
 * @param disks its disks, after any overlay an interrupted capture left was merged back
 * @param excluded the disks the member excludes ({@link DomainDriver#EXCLUDE_DISKS})
 * @param protectedGraphics graphics types whose password the capture keeps out of the store
 */
record PreparedDomain(String uuid, LibvirtConnection.State state, List<DomainXml.Disk> disks, Set<String> excluded,
    Set<String> protectedGraphics) {
  PreparedDomain {
    disks = List.copyOf(disks);
    excluded = Set.copyOf(excluded);
    protectedGraphics = Set.copyOf(protectedGraphics);
  }

  /** Whether the guest ran when the capture began: a capture leaves it running. */
  boolean running() {
    return state.running();
  }

  /** The disks whose files the transfer stores: writable local disks the member does not exclude. */
  List<DomainXml.Disk> capturedDisks() {
    return disks.stream().filter(d -> d.writableLocal() && !excluded.contains(d.dev())).toList();
  }
}
