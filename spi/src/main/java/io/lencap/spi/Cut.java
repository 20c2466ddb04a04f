package io.lencap.spi;

import java.util.Map;

/**
 * The point-in-time mark a driver took while its member was quiesced.
 *
 * @param live true when the mark is detached from the running member (a snapshot, an overlay): the
 *     member may resume before its transfer. False when the transfer must read the member's own state,
 *     so the engine transfers it before resuming it (the fallback when a target cannot snapshot).
 * @param artefacts what the cut created (overlay paths, snapshot names), recorded in the store's intent
 *     journal so that {@link ResourceDriver#release} can clean up even after the process died. No secrets.
 */
public record Cut(boolean live, Map<String, String> artefacts) {
  public Cut {
    artefacts = Map.copyOf(artefacts);
  }

  public static Cut live(Map<String, String> artefacts) {
    return new Cut(true, artefacts);
  }

  public static Cut inPlace() {
    return new Cut(false, Map.of());
  }
}
