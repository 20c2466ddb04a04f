package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A save image: blocking mode, a domain paused before the capture, or a hypervisor without live external snapshots
 * (Xen's libxl, the test driver). Quiesce suspends a running domain, the cut saves it (it stops), the engine
 * copies the image and the disks before resume, and resume starts the domain again from the image.
 */
final class SaveImageCut implements CutStrategy {
  static final String KIND = "SAVE_IMAGE";
  private static final Logger log = LoggerFactory.getLogger(SaveImageCut.class);

  private final MemberDomain domain;
  private final PreparedDomain prepared;
  /** The image the cut saved and resume has not started the domain from yet. */
  private volatile Path pendingImage;

  SaveImageCut(MemberDomain domain, PreparedDomain prepared) {
    this.domain = domain;
    this.prepared = prepared;
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String method() {
    return "save-image";
  }

  @Override
  public String image() {
    return "save";
  }

  @Override
  public boolean redirectsLuns() {
    return false;
  }

  @Override
  public void quiesce() {
    if (prepared.running()) {
      domain.run("suspending it", () -> domain.lookup().suspend());
    }
  }

  @Override
  public Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) {
    Path image = domain.workDirectory().resolve(prepared.uuid() + "-" + tag + ".save");
    artefacts.put("image", image.toString());
    artefacts.put("running", Boolean.toString(prepared.running()));
    save(image);
    pendingImage = image;
    return new Cut(false, artefacts);
  }

  private void save(Path image) {
    String what = domain.where() + ": saving its state to an image";
    LibvirtConnection conn = domain.connection();
    try {
      conn.saveImage(prepared.uuid(), image, LibvirtNative.SAVE_PAUSED, domain.member(), what);
    } catch (LencapException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_INVALID_ARG) {
        throw e;
      }
      conn.saveImage(prepared.uuid(), image, 0, domain.member(), what); // drivers without flags (test, older Xen)
    }
  }

  @Override
  public void resume() throws InterruptedException {
    Path image = pendingImage;
    if (image != null) {
      domain.startFromImage(image, prepared.running());
      pendingImage = null;
    }
    if (prepared.running()) {
      domain.resumeIfPaused();
    }
  }

  @Override
  public Optional<Path> memory(Cut cut) {
    return Optional.of(Path.of(cut.artefacts().get("image")));
  }

  /**
   * Deletes the save image of a cut, starting the domain from it first when it is not running: the process died
   * (or resume failed) between save and restore. The artefacts may come from the journal ({@link CutArtefacts}).
   */
  static void release(MemberDomain domain, Map<String, String> artefacts) throws IOException, InterruptedException {
    CutArtefacts checked = new CutArtefacts(artefacts, domain.workDirectory(), domain.where());
    Path image = checked.workFile("image", ".save");
    if (!Files.exists(image)) {
      return;
    }
    LibvirtConnection c = domain.current();
    Domain d = domain.ownDomain(c, checked.uuid());
    boolean active = d != null && c.state(checked.uuid(), domain.member(), domain.where() + ": reading its state").active();
    if (!active) {
      log.warn("{}: starting it again from the save image left by capture", domain.where());
      domain.startFromImage(image, Boolean.parseBoolean(artefacts.getOrDefault("running", "true")));
    }
    Files.deleteIfExists(image);
  }
}
