package io.lencap.libvirt;

import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import java.net.URI;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Works one libvirt domain through a capture or a restore, delegating each to the type that knows it.
 *
 * <p>How a capture cuts depends on the domain and the mode, chosen once in {@link #prepare}
 * ({@link CapturePreparation#choose}): a {@link LiveSnapshotCut} or a {@link PausedSnapshotCut} of a running QEMU
 * domain in non-blocking mode, a {@link SaveImageCut} in blocking mode, of a paused domain, or on a hypervisor
 * without live external snapshots (Xen's libxl, the test driver), an {@link OfflineCut} of a shut-off domain.
 * {@link DomainTransfer} stores the cut, {@link #release} undoes it by the kind its artefacts record (crash repair
 * releases cuts this driver did not take). A restore is {@link DomainRestore}'s, following moved LUNs
 * ({@link LunRelocation}); health is {@link DomainProbe}'s. Every libvirt error is translated in
 * {@link LibvirtErrors}.
 */
final class DomainDriver implements ResourceDriver {
  static final String MEMORY = "memory.img";
  /**
   * How memory images are chunked: content-defined (QEMU's save stream is neither page-aligned nor stable in
   * layout), 64 KiB on average. Two real images of an idle guest 10 s apart (`MemoryImageBench`): the second
   * stored 1.54% of itself at 64 KiB against 4.08% at 256 KiB, in the same time; 32 KiB stored 0.92% but doubles
   * the objects a remote store pays for.
   */
  static final Chunking MEMORY_CHUNKING = Chunking.contentDefined(16 << 10, 64 << 10, 256 << 10);
  static final String DEFINITION = "domain.xml";
  static final String DISKS = "disks/";
  /** The member property naming disks (guest devices, comma-separated) a capture leaves out on purpose. */
  static final String EXCLUDE_DISKS = "exclude.disks";
  /** The stored attribute recording them. */
  static final String EXCLUDED_ATTRIBUTE = "disks.excluded";

  private final Resource resource;
  private final MemberDomain domain;

  /** Set by prepare; null in a driver that only releases or resumes (crash repair) or restores. */
  private volatile CapturePreparation.Plan plan;
  /** Set by prepareRestore. */
  private volatile DomainRestore restore;

  DomainDriver(Resource resource, ProviderContext context, Connections connections) {
    this.resource = resource;
    this.domain = new MemberDomain(resource, context, connections);
  }

  @Override
  public Set<Capability> capabilities() {
    // Every cut's release (overlays merged back, a save image or memory volume deleted, a backup job ended) is the
    // same after a commit as after an abort: it may overlap the group's commit.
    Set<Capability> c = EnumSet.of(Capability.RESTORE_ELSEWHERE, Capability.RELEASE_ONCE_TRANSFERRED);
    if (isQemuUri(resource.locator())) {
      c.add(Capability.LIVE_CUT);
    }
    return c;
  }

  static boolean isQemuUri(URI uri) {
    return uri.getScheme() != null && (uri.getScheme().equals("qemu") || uri.getScheme().startsWith("qemu+"));
  }

  // ---------------------------------------------------------------- capture

  @Override
  public void prepare(CaptureContext ctx) throws Exception {
    plan = CapturePreparation.prepare(domain, ctx);
    // Before the quiesce: the libvirt call (55-95 ms here) stays out of the window the other members wait in.
    plan.tracking().ifPresent(t -> t.begin(MemberDomain.tag(ctx.checkpointId()), ctx));
  }

  @Override
  public void quiesce() throws Exception {
    DomainRestore r = restore;
    CapturePreparation.Plan p = plan;
    if (r != null) {
      r.quiesce();
    } else if (p != null) {
      p.strategy().quiesce();
    }
  }

  @Override
  public Cut cut(CaptureContext ctx) throws Exception {
    PreparedDomain prepared = plan.domain();
    CutStrategy strategy = plan.strategy();
    Map<String, String> artefacts = new TreeMap<>();
    artefacts.put("kind", strategy.kind());
    artefacts.put("domain", domain.name());
    artefacts.put("uuid", prepared.uuid());
    ctx.state().attribute("domain", domain.name());
    ctx.state().attribute("uuid", prepared.uuid());
    LibvirtConnection conn = domain.connection();
    ctx.state().attribute("hypervisor", domain.call("asking the hypervisor type", conn::getType));
    ctx.state().attribute("state", !prepared.state().active() ? "shutoff" : prepared.running() ? "running" : "paused");
    ctx.state().attribute("image", strategy.image());
    if (!prepared.excluded().isEmpty()) {
      ctx.state().attribute(EXCLUDED_ATTRIBUTE, String.join(",", new TreeSet<>(prepared.excluded())));
    }
    if (!prepared.protectedGraphics().isEmpty()) {
      ctx.state().attribute(RestoredXml.GRAPHICS_PROTECTED, String.join(",", new TreeSet<>(prepared.protectedGraphics())));
    }
    return strategy.cut(ctx, MemberDomain.tag(ctx.checkpointId()), artefacts);
  }

  @Override
  public void resume() throws Exception {
    DomainRestore r = restore;
    CapturePreparation.Plan p = plan;
    if (r != null) {
      r.resume();
    } else if (p != null) {
      p.strategy().resume();
    } else {
      // A fresh driver (crash repair) resumes what may have been quiesced.
      domain.resumeIfPaused();
    }
  }

  @Override
  public void transfer(Cut cut, CaptureContext ctx) throws Exception {
    if (plan.strategy() instanceof PullBackupCut pull) {
      new PullBackupTransfer(domain, plan.domain(), pull.pool()).transfer(cut, ctx);
    } else {
      new DomainTransfer(domain, plan.domain(), plan.tracking()).transfer(cut, plan.strategy().memory(cut), ctx);
    }
  }

  /**
   * Undoes a cut, by the kind its artefacts record: they may come back from the store's journal (crash repair),
   * so the strategy that took it is not at hand, and nothing in them is trusted ({@link CutArtefacts}).
   */
  @Override
  public void release(Cut cut) throws Exception {
    Map<String, String> a = cut.artefacts();
    switch (a.getOrDefault("kind", "")) {
      case LiveSnapshotCut.KIND, PausedSnapshotCut.KIND -> ExternalSnapshot.release(domain, a);
      case SaveImageCut.KIND -> SaveImageCut.release(domain, a);
      case PullBackupCut.KIND -> PullBackupCut.release(domain, a);
      default -> {
        // an offline cut leaves nothing behind
      }
    }
  }

  // ---------------------------------------------------------------- restore

  @Override
  public void prepareRestore(RestoreContext ctx) throws Exception {
    DomainRestore r = new DomainRestore(domain);
    restore = r;
    r.prepare(ctx);
  }

  @Override
  public void restore(RestoreContext ctx) throws Exception {
    restore.restore(ctx);
  }

  // ---------------------------------------------------------------- health

  @Override
  public String toString() {
    return "DomainDriver{" + domain.where() + "}";
  }
}
