package io.lencap.libvirt;

import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** A shut-off domain: nothing runs to stop, so the transfer copies its disks and its definition. */
final class OfflineCut implements CutStrategy {
  static final String KIND = "OFFLINE";

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String method() {
    return "offline-disk-copy";
  }

  @Override
  public String image() {
    return "none";
  }

  @Override
  public boolean redirectsLuns() {
    return false;
  }

  @Override
  public void quiesce() {}

  @Override
  public Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) {
    return new Cut(false, artefacts);
  }

  @Override
  public void resume() {}

  @Override
  public Optional<Path> memory(Cut cut) {
    return Optional.empty();
  }
}
