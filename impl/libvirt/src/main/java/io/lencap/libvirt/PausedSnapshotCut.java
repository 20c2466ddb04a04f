package io.lencap.libvirt;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A running QEMU domain, non-blocking, property {@code cut=paused} (the default for a VM that depends on storage
 * members): quiesce suspends the guest and resume starts it, so it stands still from quiesce to resume, consistent
 * with the storage it writes, and the external snapshot is taken while it is paused.
 */
final class PausedSnapshotCut implements CutStrategy {
  static final String KIND = "PAUSED_SNAPSHOT";

  private final MemberDomain domain;
  private final PreparedDomain prepared;
  private final ExternalSnapshot snapshot;

  PausedSnapshotCut(MemberDomain domain, PreparedDomain prepared) {
    this.domain = domain;
    this.prepared = prepared;
    this.snapshot = new ExternalSnapshot(domain, prepared);
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String method() {
    return "paused-external-snapshot";
  }

  @Override
  public String image() {
    return "snapshot";
  }

  @Override
  public boolean redirectsLuns() {
    return true;
  }

  @Override
  public void quiesce() {
    if (prepared.running()) {
      domain.run("suspending it", () -> domain.lookup().suspend());
    }
  }

  /** The guest is paused from quiesce to resume: that is its pause, as the engine measures it. */
  @Override
  public Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) throws Exception {
    return snapshot.take(ctx, tag, artefacts, false);
  }

  @Override
  public void resume() throws InterruptedException {
    if (prepared.running()) {
      domain.resumeIfPaused();
    }
  }

  @Override
  public Optional<Path> memory(Cut cut) {
    return Optional.of(Path.of(cut.artefacts().get("memory")));
  }
}
