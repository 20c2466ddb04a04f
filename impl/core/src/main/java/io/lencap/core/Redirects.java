package io.lencap.core;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Phase;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the cuts' write redirects mean for a capture. A live cut may redirect a member's writes away from
 * storage until release (a VM's disk overlay over its LUN): that storage is then frozen without being
 * quiesced, but only if it is a member of the group.
 */
final class Redirects {
  private Redirects() {}

  /**
   * Refuses a cut that redirects the writes of storage that is not a member (a VM's writable LUN disk outside
   * the group): a restore would pair the VM's memory with storage from another time.
   */
  static void check(String encapsulation, List<CaptureMember> members) {
    Set<String> storage = new HashSet<>();
    members.forEach(m -> storage.add(m.resource.locator().toString()));
    for (CaptureMember m : members) {
      for (String locator : m.cut.redirects()) {
        if (!storage.contains(locator)) {
          throw new MemberFailure(m.id(), Phase.CUT, new InvalidSpecException("resources[" + m.id() + "]",
              "writes to " + locator + ", which is not a member of " + encapsulation
              + ": add it as a member, or exclude the disk (the provider's exclude.disks)"));
        }
      }
    }
  }

  /** The members that depend on {@code storage} explicitly: the ones whose cuts may redirect its writes. */
  static List<CaptureMember> writers(CaptureMember storage, List<CaptureMember> members) {
    return members.stream().filter(w -> w.resource.dependsOn().contains(storage.id())).toList();
  }

  /**
   * Whether a storage member whose own cut is not live stays frozen anyway, so that it may be transferred
   * after resume: it has {@link #writers}, and each has a live cut that redirects its writes away from it. Says
   * so in the member's method and notes when it does.
   */
  static boolean frozenByWriters(CaptureMember storage, List<CaptureMember> writers) {
    String locator = storage.resource.locator().toString();
    boolean frozen = !writers.isEmpty()
        && writers.stream().allMatch(w -> w.cut.live() && w.cut.redirects().contains(locator));
    if (frozen) {
      storage.context.method("frozen-by-writers");
      storage.context.note("its writers (" + writers.stream().map(CaptureMember::id).toList()
          + ") wrote to overlays while it was transferred after resume");
    }
    return frozen;
  }
}
