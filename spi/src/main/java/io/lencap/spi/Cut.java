package io.lencap.spi;

import java.util.Map;
import java.util.Set;

/**
 * The point-in-time mark a driver took while its member was quiesced.
 *
 * @param live true when the mark is detached from the running member (a snapshot, an overlay): the
 *     member may resume before its transfer. False when the transfer must read the member's own state,
 *     so the engine transfers it before resuming it (the fallback when a target cannot snapshot).
 * @param artefacts what the cut created (overlay paths, snapshot names), recorded in the store's intent
 *     journal so that {@link ResourceDriver#release} can clean up even after the process died. No secrets.
 * @param redirects locators of storage members whose writes this cut redirects elsewhere until
 *     {@link ResourceDriver#release} (a VM's overlay over its LUN disk). When every writer of a storage
 *     member redirects it, that member's state stays frozen after resume, so the engine transfers it in
 *     the background even though its own cut is not live.
 */
public record Cut(boolean live, Map<String, String> artefacts, Set<String> redirects) {
  public Cut {
    artefacts = Map.copyOf(artefacts);
    redirects = Set.copyOf(redirects);
  }

  public Cut(boolean live, Map<String, String> artefacts) {
    this(live, artefacts, Set.of());
  }

  public static Cut live(Map<String, String> artefacts) {
    return new Cut(true, artefacts);
  }

  public static Cut inPlace() {
    return new Cut(false, Map.of());
  }

  /** This cut, also redirecting the writes meant for the storage members at these locators. */
  public Cut redirecting(Set<String> locators) {
    return new Cut(live, artefacts, locators);
  }
}
