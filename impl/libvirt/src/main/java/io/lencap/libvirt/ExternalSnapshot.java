package io.lencap.libvirt;

import io.lencap.api.UnavailableException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.libvirt.Domain;
import org.libvirt.DomainSnapshot;
import org.libvirt.LibvirtException;
import org.libvirt.TypedParameter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A libvirt external snapshot without metadata, the cut of {@link LiveSnapshotCut} and {@link PausedSnapshotCut}:
 * a memory file and one qcow2 overlay per writable disk. The guest writes to the overlays from the cut on, so the
 * memory file and the frozen disk bases are transferred while it runs; {@link #release} merges the overlays back.
 * A disk on an iSCSI LUN that QEMU reaches itself gets a local overlay too, but its base is left to the LUN's own
 * member: the cut names the LUN in its redirects, so the engine reads the frozen LUN after resume.
 */
final class ExternalSnapshot {
  private static final Logger log = LoggerFactory.getLogger(ExternalSnapshot.class);

  private final MemberDomain domain;
  private final PreparedDomain prepared;

  ExternalSnapshot(MemberDomain domain, PreparedDomain prepared) {
    this.domain = domain;
    this.prepared = prepared;
  }

  /**
   * Takes the snapshot: {@code live}, QEMU copies the memory while the guest runs and stops it only for the last
   * round, a pause measured from libvirt's events and reported as the member's pause. On failure, undoes what the
   * snapshot may have left (the engine releases only cuts that returned).
   */
  Cut take(CaptureContext ctx, String tag, Map<String, String> artefacts, boolean live) throws Exception {
    try {
      snapshot(ctx, tag, artefacts, live);
    } catch (Exception e) {
      try {
        release(domain, artefacts);
      } catch (Exception cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    return Cut.live(artefacts).redirecting(redirects());
  }

  /** The {@code <domainsnapshot>} for this domain's disks; records each file it will create in {@code artefacts}. */
  static String xml(PreparedDomain prepared, Path work, String tag, Map<String, String> artefacts) {
    Path memory = work.resolve(prepared.uuid() + "-" + tag + ".mem");
    artefacts.put("memory", memory.toString());
    StringBuilder xml = new StringBuilder("<domainsnapshot><name>lencap-").append(tag).append("</name>")
        .append("<memory snapshot='external' file='").append(escape(memory.toString())).append("'/><disks>");
    for (DomainXml.Disk d : prepared.disks()) {
      if (prepared.excluded().contains(d.dev())) {
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='no'/>");
      } else if (d.writableLocal()) {
        Path base = d.source().orElseThrow();
        Path overlay = d.type().equals("file")
            ? base.resolveSibling(base.getFileName() + ".lencap-" + tag)
            : work.resolve(prepared.uuid() + "-" + d.dev() + "-" + tag + ".qcow2");
        artefacts.put("overlay." + d.dev(), overlay.toString());
        artefacts.put("base." + d.dev(), base.toString());
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='external' type='file'><source file='")
            .append(escape(overlay.toString())).append("'/><driver type='qcow2'/></disk>");
      } else if (d.writableLun()) {
        // QEMU writes the overlay (libvirt hands it to user libvirt-qemu); the LUN stays frozen until release.
        Path overlay = work.resolve(prepared.uuid() + "-" + d.dev() + ".lencap-" + tag + ".qcow2");
        artefacts.put("overlay." + d.dev(), overlay.toString());
        artefacts.put("lun." + d.dev(), d.lun().get().toString());
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='external' type='file'><source file='")
            .append(escape(overlay.toString())).append("'/><driver type='qcow2'/></disk>");
      } else {
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='no'/>");
      }
    }
    return xml.append("</disks></domainsnapshot>").toString();
  }

  private void snapshot(CaptureContext ctx, String tag, Map<String, String> artefacts, boolean live) throws Exception {
    String xml = xml(prepared, domain.workDirectory(), tag, artefacts);
    int flags = Domain.SnapshotCreateFlags.NO_METADATA | Domain.SnapshotCreateFlags.ATOMIC
        | (live ? Domain.SnapshotCreateFlags.LIVE : 0);
    Domain d = domain.lookup();
    long start = System.nanoTime();
    try (PauseWatch watch = PauseWatch.start(domain.connection(), domain.name())) {
      DomainSnapshot s = domain.call("taking an external snapshot", () -> d.snapshotCreateXML(xml, flags));
      long call = System.nanoTime() - start;
      freeQuietly(s);
      if (live) {
        Optional<Duration> paused = watch.await(Duration.ofSeconds(2));
        String downtime = qemuDowntime(d);
        ctx.state().attribute("pause.guest.ms", paused.map(p -> Long.toString(p.toMillis())).orElse("unknown"));
        paused.ifPresent(ctx::pause); // the guest's real pause, not the whole snapshot call
        ctx.note(String.format("live external snapshot: the guest's vCPUs stood still %s (libvirt events; QEMU "
            + "reports %s ms of downtime) within a %d ms snapshot call",
            paused.map(p -> p.toMillis() + " ms").orElse("an unmeasured time"), downtime, call / 1_000_000));
      }
    }
  }

  private String qemuDowntime(Domain d) {
    try {
      for (TypedParameter p : d.getJobStats(Domain.GetJobStatsFlags.COMPLETED).stats) {
        if (p.field.equals("downtime")) {
          return p.getValueAsString();
        }
      }
    } catch (LibvirtException | RuntimeException e) {
      log.debug("{}: no completed job statistics: {}", domain.where(), e.getMessage());
    }
    return "unknown";
  }

  /**
   * The locators of the LUNs whose writes the snapshot redirects to overlays, as their members may spell them
   * ({@link LunRelocation#spellings}), plus the property {@code redirects} (comma-separated) for LUN members
   * addressed otherwise (a host name instead of an address).
   */
  Set<String> redirects() {
    Set<String> out = new TreeSet<>();
    for (DomainXml.Disk d : prepared.disks()) {
      if (d.writableLun() && !prepared.excluded().contains(d.dev())) {
        out.addAll(LunRelocation.spellings(d.lun().get()));
      }
    }
    if (!out.isEmpty()) {
      domain.resource().property("redirects").ifPresent(r -> Arrays.stream(r.split(","))
          .map(String::trim).filter(x -> !x.isEmpty()).forEach(out::add));
    }
    return out;
  }

  /**
   * Merges a snapshot's overlays back and deletes its memory file. The artefacts may come back from the store's
   * journal (crash repair), so none is trusted: the domain must be this member's, the memory file must lie in the
   * work directory, and an overlay or base must be in that domain's disk chain as libvirt shows it now
   * ({@link CutArtefacts}).
   */
  static void release(MemberDomain domain, Map<String, String> artefacts) throws IOException, InterruptedException {
    LibvirtConnection c = domain.patiently();
    CutArtefacts checked = new CutArtefacts(artefacts, domain.workDirectory(), domain.where());
    Domain d = domain.ownDomain(c, checked.uuid());
    boolean active = d != null && c.state(checked.uuid(), domain.member(), domain.where() + ": reading its state").active();
    if (active) {
      awaitNoJob(domain, d); // a snapshot that libvirtd finishes late must land before its overlays are merged
    }
    if (d != null) {
      checked.chains(DomainXml.parse(domain.call("reading its XML", () -> d.getXMLDesc(0))),
          DomainXml.parse(domain.call("reading its definition", () -> d.getXMLDesc(Domain.XMLFlags.INACTIVE))));
    }
    Overlays overlays = new Overlays(domain.member(), domain.where());
    if (active) { // LUN or file, a running domain merges every overlay the same way, all at once
      Map<String, Path> live = new LinkedHashMap<>();
      for (String dev : checked.overlayDevices()) {
        // libvirt commits into the chain it knows, but a base the chain does not show means a planted journal
        if (checked.lun(dev).isEmpty()) {
          checked.base(dev);
        }
        live.put(dev, checked.overlay(dev));
      }
      overlays.mergeBackLive(d, live);
    } else {
      mergeBackOffline(domain, d, checked, overlays);
    }
    Files.deleteIfExists(checked.workFile("memory", ".mem"));
  }

  private static void mergeBackOffline(MemberDomain domain, Domain d, CutArtefacts checked, Overlays overlays)
      throws IOException {
    for (String dev : checked.overlayDevices()) {
      if (d == null) {
        log.warn("{}: the domain is gone; leaving the overlay of {} in place", domain.where(), dev);
      } else if (checked.lun(dev).isPresent()) {
        overlays.mergeBack(d, false, dev, checked.overlay(dev), checked.lun(dev).get());
      } else {
        overlays.mergeBack(d, false, dev, checked.overlay(dev), checked.base(dev));
      }
    }
  }

  /** Waits (bounded) until the domain runs no job: a snapshot libvirtd was slow to finish, a block job. */
  private static void awaitNoJob(MemberDomain domain, Domain d) throws InterruptedException {
    long deadline = System.nanoTime() + MemberDomain.RECONNECT_PATIENCE.toNanos();
    while (true) {
      int type;
      try {
        type = d.getJobInfo().getType();
      } catch (LibvirtException e) {
        return; // drivers without job information (test) have no asynchronous snapshot either
      }
      if (type == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new UnavailableException(domain.where() + ": still runs a libvirt job after "
            + MemberDomain.RECONNECT_PATIENCE + "; its cut is released by the next capture or repair");
      }
      TimeUnit.MILLISECONDS.sleep(100); // polling libvirt's job state; it has no wait
    }
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static void freeQuietly(DomainSnapshot s) {
    try {
      if (s != null) {
        s.free();
      }
    } catch (LibvirtException e) {
      // nothing to free
    }
  }
}
