package io.lencap.libvirt;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.spi.CaptureContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import org.libvirt.Domain;

/**
 * Prepare of a capture: checks that the domain can be captured (single-file disks, no writer it cannot capture,
 * excluded disks that exist), merges back what an interrupted capture left, and chooses how it is cut.
 */
final class CapturePreparation {
  /** A cut strategy not made yet: it needs the disks as they are once prepare has merged leftovers back. */
  interface Choice extends BiFunction<MemberDomain, PreparedDomain, CutStrategy> {}

  private final MemberDomain domain;
  private final CaptureContext ctx;

  private CapturePreparation(MemberDomain domain, CaptureContext ctx) {
    this.domain = domain;
    this.ctx = ctx;
  }

  /** What a capture found of the domain, and how it cuts it. */
  record Plan(PreparedDomain domain, CutStrategy strategy, Optional<BitmapTracking> tracking) {}

  /** Connects, checks and chooses; notes what the capture will not capture and why. */
  static Plan prepare(MemberDomain domain, CaptureContext ctx) throws Exception {
    return new CapturePreparation(domain, ctx).prepare();
  }

  private Plan prepare() throws Exception {
    LibvirtConnection conn = domain.connect();
    Domain d = domain.lookup();
    String uuid = domain.call("reading its UUID", d::getUUIDString);
    LibvirtConnection.State state = conn.state(uuid, domain.member(), domain.where() + ": reading its state");
    String hypervisor = domain.call("asking the hypervisor type", conn::getType);
    List<DomainXml.Disk> disks = DomainXml.parse(domain.call("reading its XML", () -> d.getXMLDesc(0))).disks();
    Choice choice = choose(domain, state, hypervisor, ctx);
    disks = checkChains(d, disks, state.active());
    Set<String> excluded = excludedDisks(disks);
    Set<String> graphics = Set.copyOf(DomainXml.parse(domain.call("reading its XML",
        () -> d.getXMLDesc(Domain.XMLFlags.SECURE))).graphicsPasswords().keySet());
    PreparedDomain prepared = new PreparedDomain(uuid, state, disks, excluded, graphics);
    CutStrategy strategy = choice.apply(domain, prepared);
    checkDisks(prepared, strategy.redirectsLuns());
    ctx.method(strategy.method());
    Files.createDirectories(domain.workDirectory());
    if (state.active()) {
      removeStaleCutFiles(uuid);
    }
    if (strategy instanceof PullBackupCut pull) {
      pull.removeStale(ctx);
    }
    if (strategy instanceof PullBackupCut && BitmapTracking.enabled(domain)) {
      ctx.note("no changed-block tracking on a remote host yet: every disk is read over NBD whole");
    }
    boolean snapshot = strategy.kind().equals(LiveSnapshotCut.KIND) || strategy.kind().equals(PausedSnapshotCut.KIND);
    Optional<String> noNbd = NbdExport.unavailable();
    if (BitmapTracking.enabled(domain) && snapshot && noNbd.isPresent()) {
      ctx.note("no changed-block tracking: " + noNbd.get() + "; every disk is read and hashed whole");
    }
    Optional<BitmapTracking> tracking = BitmapTracking.enabled(domain) && snapshot && noNbd.isEmpty()
        ? Optional.of(BitmapTracking.plan(domain, prepared, ctx)) : Optional.empty();
    return new Plan(prepared, strategy, tracking);
  }

  /**
   * How the domain is cut: a shut-off domain offline; blocking mode, a hypervisor other than QEMU, or a domain
   * paused before the capture with a save image (noted when it is a fallback); otherwise an external snapshot,
   * live or paused as the member's property {@code cut} says.
   */
  static Choice choose(MemberDomain domain, LibvirtConnection.State state, String hypervisor, CaptureContext ctx) {
    var resource = domain.resource();
    String cut = resource.property("cut").orElse(resource.dependsOn().isEmpty() ? "live" : "paused");
    if (!cut.equals("live") && !cut.equals("paused")) {
      throw new InvalidSpecException("resources[" + domain.member() + "].properties.cut", "'" + cut
          + "' is neither 'live' (the guest pauses only for QEMU's last copy round) nor 'paused' (paused from "
          + "quiesce to resume, consistent with the storage it writes)");
    }
    if (PullBackupCut.isRemote(resource.locator())) {
      return remote(domain, state, hypervisor, ctx);
    } else if (!state.active()) {
      return (m, p) -> new OfflineCut();
    } else if (ctx.mode() == CaptureMode.BLOCKING) {
      return SaveImageCut::new;
    } else if (!hypervisor.equalsIgnoreCase("QEMU")) {
      ctx.note(resource.redactedLocator() + " (" + hypervisor + "): libvirt's " + hypervisor
          + " driver has no live external snapshots; fell back to a save image: the domain stops while its "
          + "memory and disks are copied, then starts again from the image");
      return SaveImageCut::new;
    } else if (state.paused()) {
      ctx.note("domain " + domain.name() + " was paused before the capture: captured with a save image (QEMU "
          + "cannot merge a memory snapshot's overlays back while the guest stays paused)");
      return SaveImageCut::new;
    }
    return cut.equals("live") ? LiveSnapshotCut::new : PausedSnapshotCut::new;
  }

  /**
   * A domain on a remote host: its files are not this process's to open, so only a running QEMU domain can be
   * captured, through a pull-mode backup; anything else fails here, before anything is paused.
   */
  private static Choice remote(MemberDomain domain, LibvirtConnection.State state, String hypervisor,
      CaptureContext ctx) {
    String field = "resources[" + domain.member() + "]";
    if (!hypervisor.equalsIgnoreCase("QEMU")) {
      throw new InvalidSpecException(field, domain.where() + " (" + hypervisor + ") is on a remote host: Lencap "
          + "captures remote domains through QEMU's backup exports only, and this hypervisor has none");
    }
    if (!state.active()) {
      throw new InvalidSpecException(field, domain.where() + " is shut off on a remote host: Lencap reads remote "
          + "disks from a running QEMU's backup export only, and never opens the host's files; start it (paused if "
          + "need be) to capture it");
    }
    if (ctx.mode() == CaptureMode.BLOCKING) {
      ctx.note("blocking mode on a remote host: the memory is saved into the host's pool, downloaded, and the disks "
          + "read over NBD, all inside the pause");
    }
    RemotePool pool = RemotePool.of(domain, domain.connection(), field + ".properties." + RemotePool.PROPERTY);
    return (m, p) -> new PullBackupCut(m, p, pool);
  }

  /** Notes the disks the capture leaves out, and refuses a disk the guest writes that it cannot capture. */
  private void checkDisks(PreparedDomain prepared, boolean redirectsLuns) {
    for (DomainXml.Disk d : prepared.disks()) {
      if (prepared.excluded().contains(d.dev())) {
        ctx.note("disk " + d.dev() + " is excluded (" + DomainDriver.EXCLUDE_DISKS + "): not captured, and a restore "
            + "leaves it as it is then, whatever the memory image remembers of it");
      } else if (uncapturedWriter(d)) {
        throw new InvalidSpecException("resources[" + domain.member() + "].properties." + DomainDriver.EXCLUDE_DISKS,
            domain.where() + ": disk " + d.dev() + " (" + d.type() + ") is written by the guest, but Lencap cannot "
            + "capture it here: a restore would pair the memory image with that disk as it is then, from another "
            + "time. Capture its storage as a member of the encapsulation, or exclude it explicitly: .property(\""
            + DomainDriver.EXCLUDE_DISKS + "\", \"" + d.dev() + "\")");
      } else if (redirectsLuns && d.writableLun()) {
        ctx.note("disk " + d.dev() + " (iSCSI LUN " + d.lun().get() + ") is not captured here: its writes go to a "
            + "local overlay from the cut until the release merges it back, so the LUN stays frozen for its own "
            + "member of the encapsulation to capture");
      } else if (!d.writableLocal() && d.source().isPresent() || d.type().equals("network") || d.type().equals("volume")) {
        ctx.note("disk " + d.dev() + " (" + d.type() + (d.readOnly() ? ", read-only" : "") + ") is referenced, "
            + "not captured: keep it where it is, or capture its storage as a member of the encapsulation");
      }
    }
  }

  /**
   * A disk the guest writes that this driver neither copies (a local file or device) nor redirects for its LUN's
   * member: an NBD, RBD, HTTP... network disk, a pool volume. Empty drives are not writers.
   */
  static boolean uncapturedWriter(DomainXml.Disk d) {
    boolean empty = (d.type().equals("file") || d.type().equals("block")) && d.source().isEmpty();
    return d.writer() && !d.writableLocal() && !d.writableLun() && !empty;
  }

  /** The member's {@link DomainDriver#EXCLUDE_DISKS}, each a disk of the domain (a typo must not exclude nothing silently). */
  private Set<String> excludedDisks(List<DomainXml.Disk> disks) {
    Optional<String> p = domain.resource().property(DomainDriver.EXCLUDE_DISKS);
    if (p.isEmpty()) {
      return Set.of();
    }
    Set<String> out = new TreeSet<>();
    List<String> devs = disks.stream().map(DomainXml.Disk::dev).toList();
    for (String dev : p.get().split(",")) {
      String d = dev.trim();
      if (d.isEmpty()) {
        continue;
      }
      if (!devs.contains(d)) {
        throw new InvalidSpecException("resources[" + domain.member() + "].properties." + DomainDriver.EXCLUDE_DISKS,
            "'" + d + "' is not a disk of " + domain.where() + " (it has " + devs + ")");
      }
      out.add(d);
    }
    return Set.copyOf(out);
  }

  /** Memory files and save images of this running domain left by captures that died before their release. */
  private void removeStaleCutFiles(String uuid) throws IOException {
    try (var files = Files.list(domain.workDirectory())) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(uuid + "-")).toList()) {
        Files.deleteIfExists(p);
        ctx.note("deleted " + p.getFileName() + ", left by an interrupted capture");
      }
    }
  }

  /**
   * Each captured disk must be one file. An overlay left by an interrupted capture (libvirtd died during
   * the snapshot) is merged back first; any other backing chain is refused. Returns the disks as they are then.
   */
  private List<DomainXml.Disk> checkChains(Domain d, List<DomainXml.Disk> disks, boolean active) throws IOException {
    Overlays overlays = new Overlays(domain.member(), domain.where());
    String field = "resources[" + domain.member() + "]";
    for (DomainXml.Disk disk : disks) {
      if (disk.backingLun().isPresent() && disk.source().isPresent()) {
        Path top = disk.source().get();
        if (!top.getFileName().toString().contains(".lencap-")) {
          throw new InvalidSpecException(field, domain.where() + ": disk " + disk.dev() + " (" + top
              + ") is an overlay over the LUN " + disk.backingLun().get() + "; Lencap captures single-file disks "
              + "and LUNs: merge it first (virsh blockcommit --active --pivot)");
        }
        overlays.mergeBack(d, active, disk.dev(), top, disk.backingLun().get());
        ctx.note("merged " + top + " back into " + disk.backingLun().get() + ": an overlay left by an interrupted capture");
        continue;
      }
      if (!disk.writableLocal() || disk.backing().isEmpty()) {
        continue;
      }
      Path top = disk.source().orElseThrow();
      if (top.getFileName().toString().contains(".lencap-")) {
        overlays.mergeBack(d, active, disk.dev(), top, disk.backing().get());
        ctx.note("merged " + top + " back into " + disk.backing().get() + ": an overlay left by an interrupted capture");
      } else {
        throw new InvalidSpecException(field, domain.where() + ": disk " + disk.dev() + " (" + top
            + ") has a backing file " + disk.backing().get() + "; Lencap captures single-file disks: flatten it "
            + "first (virsh blockpull)");
      }
    }
    return DomainXml.parse(domain.call("reading its XML", () -> d.getXMLDesc(0))).disks();
  }
}
