package io.lencap.libvirt;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * How a capture cuts one domain, chosen once in prepare ({@link CapturePreparation}): what quiesce stops, what
 * the cut leaves for the transfer, and what resume starts again. {@link DomainDriver#release} does not go through
 * it: crash repair releases a cut rebuilt from the journal, by the {@link #kind} its artefacts record.
 */
interface CutStrategy {
  /** The cut's kind in its artefacts (journalled: the names stay as they are). */
  String kind();

  /** How the checkpoint says the cut was taken. */
  String method();

  /** The stored attribute {@code image}: {@code snapshot}, {@code save} or {@code none}. */
  String image();

  /** Whether the cut sends the writes of iSCSI LUN disks to local overlays, leaving each LUN to its own member. */
  boolean redirectsLuns();

  void quiesce() throws Exception;

  /** Takes the cut; {@code artefacts} already holds what every cut records. */
  Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) throws Exception;

  /** Lets the domain run again as it was; idempotent. */
  void resume() throws Exception;

  /** The memory file or save image the transfer stores; empty when the domain's definition is stored instead. */
  Optional<Path> memory(Cut cut);
}
