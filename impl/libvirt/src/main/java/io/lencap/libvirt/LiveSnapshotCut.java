package io.lencap.libvirt;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A running QEMU domain, non-blocking, property {@code cut=live} (the default without storage members): quiesce
 * leaves the guest running, and a live external snapshot stops it only for QEMU's last copy round, the pause the
 * cut reports ({@link ExternalSnapshot#take}).
 */
final class LiveSnapshotCut implements CutStrategy {
  static final String KIND = "LIVE_SNAPSHOT";

  private final MemberDomain domain;
  private final PreparedDomain prepared;
  private final ExternalSnapshot snapshot;

  LiveSnapshotCut(MemberDomain domain, PreparedDomain prepared) {
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
    return "live-external-snapshot";
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
  public void quiesce() {}

  @Override
  public Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) throws Exception {
    return snapshot.take(ctx, tag, artefacts, true);
  }

  /** Leaves a running domain running, whatever paused it meanwhile (a snapshot job cut short by a libvirtd restart). */
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
