package io.lencap.libvirt;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.UnavailableException;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.FailureSignals;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.libvirt.Domain;
import org.libvirt.DomainSnapshot;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.TypedParameter;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Works one libvirt domain through a capture or a restore.
 *
 * <p>How a capture cuts depends on the domain and the mode (chosen in {@link #prepare}):
 * <ul>
 *   <li>a running QEMU domain, non-blocking: a live external snapshot (memory file and one overlay per
 *       writable disk); the guest runs on while the memory file and the frozen disk bases are
 *       transferred, then {@link #release} merges the overlays back. A disk on an iSCSI LUN that QEMU reaches
 *       itself gets a local overlay too, but its base is left to the LUN's own member: the cut names the LUN in
 *       its redirects, so the engine reads the frozen LUN after resume;</li>
 *   <li>blocking mode, a paused domain, or a hypervisor without live external snapshots (Xen's libxl,
 *       the test driver): a save image; the domain stops, its memory and disks are copied, and
 *       {@link #resume} starts it again from the image;</li>
 *   <li>a shut-off domain: its disks and its definition.</li>
 * </ul>
 *
 * <p>A restore whose placement moves a LUN member that a disk of the domain uses points the disk at the LUN's new
 * locator; when that member carries CHAP credentials the disk logs in with them through a libvirt secret
 * ({@link ChapSecrets}), otherwise it keeps the auth it was captured with.
 */
final class DomainDriver implements ResourceDriver {
  private static final Logger log = LoggerFactory.getLogger(DomainDriver.class);

  static final String MEMORY = "memory.img";
  static final String DEFINITION = "domain.xml";
  static final String DISKS = "disks/";
  /** The member property naming disks (guest devices, comma-separated) a capture leaves out on purpose. */
  static final String EXCLUDE_DISKS = "exclude.disks";
  /** The stored attribute recording them. */
  static final String EXCLUDED_ATTRIBUTE = "disks.excluded";
  /** How long resume and release wait for a restarting libvirtd. */
  static final Duration RECONNECT_PATIENCE = Duration.ofSeconds(30);

  /** How this capture cuts. */
  enum Plan {
    LIVE_SNAPSHOT("live-external-snapshot"),
    PAUSED_SNAPSHOT("paused-external-snapshot"),
    SAVE_IMAGE("save-image"),
    OFFLINE("offline-disk-copy");

    final String method;

    Plan(String method) {
      this.method = method;
    }
  }

  private final Resource resource;
  private final ProviderContext context;
  private final Connections connections;
  private final String member;
  private final String domainName;
  private final String where;

  private LibvirtConnection conn;
  private String uuid;
  private Plan plan;
  private boolean wasRunning;
  private List<DomainXml.Disk> disks = List.of();
  /** Disks the member excludes from its checkpoints ({@link #EXCLUDE_DISKS}). */
  private Set<String> excluded = Set.of();
  /** Graphics types whose password the capture keeps out of the store. */
  private Set<String> protectedGraphics = Set.of();
  private volatile boolean pausedByUs;
  private volatile Path pendingImage;
  private volatile boolean restoring;
  private volatile String restoredState;

  DomainDriver(Resource resource, ProviderContext context, Connections connections) {
    this.resource = resource;
    this.context = context;
    this.connections = connections;
    this.member = resource.id();
    this.domainName = domainName(resource, "resources[" + resource.id() + "].properties.domain");
    this.where = "domain " + domainName + " on " + resource.redactedLocator();
  }

  static String domainName(Resource r, String field) {
    String name = r.property("domain").orElseThrow(() -> new InvalidSpecException(field,
        "missing: name the libvirt domain, e.g. .property(\"domain\", \"vm1\")"));
    if (name.isBlank() || name.contains("/") || name.contains("\n")) {
      throw new InvalidSpecException(field, "'" + name + "' is not a libvirt domain name");
    }
    return name;
  }

  @Override
  public Set<Capability> capabilities() {
    Set<Capability> c = EnumSet.of(Capability.RESTORE_ELSEWHERE);
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
    conn = connections.get(resource.locator(), member);
    Domain domain = lookup();
    uuid = call("reading its UUID", domain::getUUIDString);
    LibvirtConnection.State state = conn.state(uuid, member, where + ": reading its state");
    String hypervisor = call("asking the hypervisor type", conn::getType);
    boolean qemu = hypervisor.equalsIgnoreCase("QEMU");
    wasRunning = state.running();
    disks = DomainXml.parse(call("reading its XML", () -> domain.getXMLDesc(0))).disks();
    String cut = resource.property("cut").orElse(resource.dependsOn().isEmpty() ? "live" : "paused");
    if (!cut.equals("live") && !cut.equals("paused")) {
      throw new InvalidSpecException("resources[" + member + "].properties.cut", "'" + cut
          + "' is neither 'live' (the guest pauses only for QEMU's last copy round) nor 'paused' (paused from "
          + "quiesce to resume, consistent with the storage it writes)");
    }
    if (!state.active()) {
      plan = Plan.OFFLINE;
    } else if (ctx.mode() == CaptureMode.BLOCKING) {
      plan = Plan.SAVE_IMAGE;
    } else if (!qemu) {
      plan = Plan.SAVE_IMAGE;
      ctx.note(resource.redactedLocator() + " (" + hypervisor + "): libvirt's " + hypervisor
          + " driver has no live external snapshots; fell back to a save image: the domain stops while its "
          + "memory and disks are copied, then starts again from the image");
    } else if (state.paused()) {
      plan = Plan.SAVE_IMAGE;
      ctx.note("domain " + domainName + " was paused before the capture: captured with a save image (QEMU "
          + "cannot merge a memory snapshot's overlays back while the guest stays paused)");
    } else {
      plan = cut.equals("live") ? Plan.LIVE_SNAPSHOT : Plan.PAUSED_SNAPSHOT;
    }
    checkChains(domain, state.active(), ctx);
    excluded = excludedDisks();
    protectedGraphics = Set.copyOf(DomainXml.parse(call("reading its XML",
        () -> domain.getXMLDesc(Domain.XMLFlags.SECURE))).graphicsPasswords().keySet());
    boolean snapshot = plan == Plan.LIVE_SNAPSHOT || plan == Plan.PAUSED_SNAPSHOT;
    for (DomainXml.Disk d : disks) {
      if (excluded.contains(d.dev())) {
        ctx.note("disk " + d.dev() + " is excluded (" + EXCLUDE_DISKS + "): not captured, and a restore leaves it as "
            + "it is then, whatever the memory image remembers of it");
      } else if (uncapturedWriter(d)) {
        throw new InvalidSpecException("resources[" + member + "].properties." + EXCLUDE_DISKS, where + ": disk "
            + d.dev() + " (" + d.type() + ") is written by the guest, but Lencap cannot capture it here: a restore "
            + "would pair the memory image with that disk as it is then, from another time. Capture its storage as "
            + "a member of the encapsulation, or exclude it explicitly: .property(\"" + EXCLUDE_DISKS + "\", \""
            + d.dev() + "\")");
      } else if (snapshot && d.writableLun()) {
        ctx.note("disk " + d.dev() + " (iSCSI LUN " + d.lun().get() + ") is not captured here: its writes go to a "
            + "local overlay from the cut until the release merges it back, so the LUN stays frozen for its own "
            + "member of the encapsulation to capture");
      } else if (!d.writableLocal() && d.source().isPresent() || d.type().equals("network") || d.type().equals("volume")) {
        ctx.note("disk " + d.dev() + " (" + d.type() + (d.readOnly() ? ", read-only" : "") + ") is referenced, "
            + "not captured: keep it where it is, or capture its storage as a member of the encapsulation");
      }
    }
    ctx.method(plan.method);
    Files.createDirectories(workDirectory());
    if (state.active()) {
      removeStaleCutFiles(ctx);
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

  /** The member's {@link #EXCLUDE_DISKS}, each a disk of the domain (a typo must not exclude nothing silently). */
  private Set<String> excludedDisks() {
    Optional<String> p = resource.property(EXCLUDE_DISKS);
    if (p.isEmpty()) {
      return Set.of();
    }
    Set<String> out = new java.util.TreeSet<>();
    List<String> devs = disks.stream().map(DomainXml.Disk::dev).toList();
    for (String dev : p.get().split(",")) {
      String d = dev.trim();
      if (d.isEmpty()) {
        continue;
      }
      if (!devs.contains(d)) {
        throw new InvalidSpecException("resources[" + member + "].properties." + EXCLUDE_DISKS, "'" + d
            + "' is not a disk of " + where + " (it has " + devs + ")");
      }
      out.add(d);
    }
    return Set.copyOf(out);
  }

  /** Memory files and save images of this running domain left by captures that died before their release. */
  private void removeStaleCutFiles(CaptureContext ctx) throws IOException {
    try (var files = Files.list(workDirectory())) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(uuid + "-")).toList()) {
        Files.deleteIfExists(p);
        ctx.note("deleted " + p.getFileName() + ", left by an interrupted capture");
      }
    }
  }

  /**
   * Each captured disk must be one file. An overlay left by an interrupted capture (libvirtd died during
   * the snapshot) is merged back first; any other backing chain is refused.
   */
  private void checkChains(Domain domain, boolean active, CaptureContext ctx) throws IOException {
    Overlays overlays = new Overlays(member, where);
    for (DomainXml.Disk d : disks) {
      if (d.backingLun().isPresent() && d.source().isPresent()) {
        Path top = d.source().get();
        if (!top.getFileName().toString().contains(".lencap-")) {
          throw new InvalidSpecException("resources[" + member + "]", where + ": disk " + d.dev() + " (" + top
              + ") is an overlay over the LUN " + d.backingLun().get() + "; Lencap captures single-file disks "
              + "and LUNs: merge it first (virsh blockcommit --active --pivot)");
        }
        overlays.mergeBack(domain, active, d.dev(), top, d.backingLun().get());
        ctx.note("merged " + top + " back into " + d.backingLun().get() + ": an overlay left by an interrupted capture");
        continue;
      }
      if (!d.writableLocal() || d.backing().isEmpty()) {
        continue;
      }
      Path top = d.source().orElseThrow();
      if (top.getFileName().toString().contains(".lencap-")) {
        overlays.mergeBack(domain, active, d.dev(), top, d.backing().get());
        ctx.note("merged " + top + " back into " + d.backing().get() + ": an overlay left by an interrupted capture");
      } else {
        throw new InvalidSpecException("resources[" + member + "]", where + ": disk " + d.dev() + " (" + top
            + ") has a backing file " + d.backing().get() + "; Lencap captures single-file disks: flatten it "
            + "first (virsh blockpull)");
      }
    }
    disks = DomainXml.parse(call("reading its XML", () -> domain.getXMLDesc(0))).disks();
  }

  @Override
  public void quiesce() throws Exception {
    if (restoring) {
      LibvirtConnection c = connections.get(resource.locator(), member);
      Domain existing = call("looking it up", () -> c.domainLookupByName(domainName));
      String id = call("reading its UUID", existing::getUUIDString);
      if (c.state(id, member, where + ": reading its state").running()) {
        run("suspending it", existing::suspend);
        pausedByUs = true;
      }
      return;
    }
    if ((plan == Plan.PAUSED_SNAPSHOT || plan == Plan.SAVE_IMAGE) && wasRunning) {
      run("suspending it", () -> lookup().suspend());
      pausedByUs = true;
    }
  }

  @Override
  public Cut cut(CaptureContext ctx) throws Exception {
    Map<String, String> artefacts = new TreeMap<>();
    artefacts.put("kind", plan.name());
    artefacts.put("domain", domainName);
    artefacts.put("uuid", uuid);
    ctx.state().attribute("domain", domainName);
    ctx.state().attribute("uuid", uuid);
    ctx.state().attribute("hypervisor", call("asking the hypervisor type", conn::getType));
    ctx.state().attribute("state", plan == Plan.OFFLINE ? "shutoff" : wasRunning ? "running" : "paused");
    ctx.state().attribute("image", plan == Plan.OFFLINE ? "none" : plan == Plan.SAVE_IMAGE ? "save" : "snapshot");
    if (!excluded.isEmpty()) {
      ctx.state().attribute(EXCLUDED_ATTRIBUTE, String.join(",", excluded));
    }
    if (!protectedGraphics.isEmpty()) {
      ctx.state().attribute(RestoredXml.GRAPHICS_PROTECTED, String.join(",", new java.util.TreeSet<>(protectedGraphics)));
    }
    String tag = tag(ctx.checkpointId());
    switch (plan) {
      case LIVE_SNAPSHOT, PAUSED_SNAPSHOT -> {
        try {
          snapshot(ctx, tag, artefacts);
        } catch (Exception e) {
          // The engine releases only cuts that returned: undo what a failed (or interrupted, late) snapshot
          // may have left.
          try {
            release(Cut.live(artefacts));
          } catch (Exception cleanup) {
            e.addSuppressed(cleanup);
          }
          throw e;
        }
        return Cut.live(artefacts).redirecting(redirects());
      }
      case SAVE_IMAGE -> {
        Path image = workDirectory().resolve(uuid + "-" + tag + ".save");
        artefacts.put("image", image.toString());
        artefacts.put("running", Boolean.toString(wasRunning));
        saveImage(image);
        pendingImage = image;
        return new Cut(false, artefacts);
      }
      default -> {
        return new Cut(false, artefacts);
      }
    }
  }

  /**
   * The locators of the LUNs whose writes the snapshot redirects to overlays, as their members may spell them
   * ({@link #spellings}), plus the property {@code redirects} (comma-separated) for LUN members addressed
   * otherwise (a host name instead of an address).
   */
  private Set<String> redirects() {
    Set<String> out = new java.util.TreeSet<>();
    for (DomainXml.Disk d : disks) {
      if (d.writableLun() && !excluded.contains(d.dev())) {
        out.addAll(spellings(d.lun().get()));
      }
    }
    if (!out.isEmpty()) {
      resource.property("redirects").ifPresent(r -> java.util.Arrays.stream(r.split(","))
          .map(String::trim).filter(x -> !x.isEmpty()).forEach(out::add));
    }
    return out;
  }

  /**
   * The ways a LUN member's locator may spell the LUN of a disk: {@code iscsi://host:port/iqn/lun}, also without
   * the port when it is iSCSI's default, and with LUN 0 spelled out when the disk's source names only the target.
   */
  static Set<String> spellings(URI lun) {
    Set<String> out = new java.util.LinkedHashSet<>();
    String path = lun.getRawPath();
    List<String> paths = path.lastIndexOf('/') > 0 && path.substring(path.lastIndexOf('/') + 1).matches("\\d+")
        ? List.of(path) : List.of(path, path + "/0");
    for (String p : paths) {
      out.add("iscsi://" + lun.getRawAuthority() + p);
      if (lun.getPort() == 3260 || lun.getPort() < 0) {
        out.add("iscsi://" + lun.getHost() + ":3260" + p);
        out.add("iscsi://" + lun.getHost() + p);
      }
    }
    return out;
  }

  /**
   * The iSCSI disks of a restored domain whose LUN member the placement moves, by device: the LUN member where it
   * goes (its new locator, and its CHAP credentials if it has them).
   */
  static Map<String, Resource> movedLuns(DomainXml xml, RestoreContext ctx) {
    Map<String, Resource> out = new TreeMap<>();
    for (DomainXml.Disk d : xml.disks()) {
      d.lun().flatMap(lun -> spellings(lun).stream().map(s -> ctx.relocated(URI.create(s)))
              .flatMap(Optional::stream).findFirst())
          .ifPresent(target -> out.put(d.dev(), target));
    }
    return out;
  }

  /**
   * Points each moved disk at its LUN's new locator. A VM follows its LUN wherever it goes; when the LUN member
   * carries CHAP credentials ({@link ChapSecrets}) the disk logs in with them, else its CHAP and initiator
   * settings stay as they were.
   */
  static DomainXml withMovedLuns(DomainXml xml, Map<String, Resource> moved) {
    moved.forEach((dev, lun) -> xml.withLunSource(dev, lun.locator(), ChapSecrets.auth(lun)));
    return xml;
  }

  private void snapshot(CaptureContext ctx, String tag, Map<String, String> artefacts) throws Exception {
    Path memory = workDirectory().resolve(uuid + "-" + tag + ".mem");
    artefacts.put("memory", memory.toString());
    StringBuilder xml = new StringBuilder("<domainsnapshot><name>lencap-").append(tag).append("</name>")
        .append("<memory snapshot='external' file='").append(escape(memory.toString())).append("'/><disks>");
    for (DomainXml.Disk d : disks) {
      if (excluded.contains(d.dev())) {
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='no'/>");
      } else if (d.writableLocal()) {
        Path base = d.source().orElseThrow();
        Path overlay = d.type().equals("file")
            ? base.resolveSibling(base.getFileName() + ".lencap-" + tag)
            : workDirectory().resolve(uuid + "-" + d.dev() + "-" + tag + ".qcow2");
        artefacts.put("overlay." + d.dev(), overlay.toString());
        artefacts.put("base." + d.dev(), base.toString());
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='external' type='file'><source file='")
            .append(escape(overlay.toString())).append("'/><driver type='qcow2'/></disk>");
      } else if (d.writableLun()) {
        // QEMU writes the overlay (libvirt hands it to user libvirt-qemu); the LUN stays frozen until release.
        Path overlay = workDirectory().resolve(uuid + "-" + d.dev() + ".lencap-" + tag + ".qcow2");
        artefacts.put("overlay." + d.dev(), overlay.toString());
        artefacts.put("lun." + d.dev(), d.lun().get().toString());
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='external' type='file'><source file='")
            .append(escape(overlay.toString())).append("'/><driver type='qcow2'/></disk>");
      } else {
        xml.append("<disk name='").append(escape(d.dev())).append("' snapshot='no'/>");
      }
    }
    xml.append("</disks></domainsnapshot>");
    boolean live = plan == Plan.LIVE_SNAPSHOT;
    int flags = Domain.SnapshotCreateFlags.NO_METADATA | Domain.SnapshotCreateFlags.ATOMIC
        | (live ? Domain.SnapshotCreateFlags.LIVE : 0);
    Domain domain = lookup();
    long start = System.nanoTime();
    try (PauseWatch watch = PauseWatch.start(conn, domainName)) {
      DomainSnapshot s = call("taking an external snapshot", () -> domain.snapshotCreateXML(xml.toString(), flags));
      long call = System.nanoTime() - start;
      freeQuietly(s);
      if (live) {
        Optional<Duration> paused = watch.await(Duration.ofSeconds(2));
        String downtime = qemuDowntime(domain);
        ctx.state().attribute("pause.guest.ms", paused.map(p -> Long.toString(p.toMillis())).orElse("unknown"));
        paused.ifPresent(ctx::pause); // the guest's real pause, not the whole snapshot call
        ctx.note(String.format("live external snapshot: the guest's vCPUs stood still %s (libvirt events; QEMU "
            + "reports %s ms of downtime) within a %d ms snapshot call",
            paused.map(p -> p.toMillis() + " ms").orElse("an unmeasured time"), downtime, call / 1_000_000));
      }
    }
  }

  private String qemuDowntime(Domain domain) {
    try {
      for (TypedParameter p : domain.getJobStats(Domain.GetJobStatsFlags.COMPLETED).stats) {
        if (p.field.equals("downtime")) {
          return p.getValueAsString();
        }
      }
    } catch (LibvirtException | RuntimeException e) {
      log.debug("{}: no completed job statistics: {}", where, e.getMessage());
    }
    return "unknown";
  }

  private void saveImage(Path image) {
    String what = where + ": saving its state to an image";
    try {
      conn.saveImage(uuid, image, LibvirtNative.SAVE_PAUSED, member, what);
    } catch (LencapException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_INVALID_ARG) {
        throw e;
      }
      conn.saveImage(uuid, image, 0, member, what); // drivers without flags (test, older Xen)
    }
  }

  @Override
  public void resume() throws Exception {
    if (pendingImage != null) {
      startFromImage(pendingImage, wasRunning);
      pendingImage = null;
    }
    if (restoring) {
      if ("running".equals(restoredState) || restoredState == null && pausedByUs) {
        resumeIfPaused(domainName);
      }
    } else if (plan == null || wasRunning) {
      // A fresh driver (crash repair) resumes what may have been quiesced; a capture leaves a running domain
      // running, whatever paused it meanwhile (our quiesce, a snapshot job interrupted by a libvirtd restart).
      resumeIfPaused(domainName);
    }
    pausedByUs = false;
  }

  private void resumeIfPaused(String name) throws InterruptedException {
    LibvirtConnection c = connections.getPatiently(resource.locator(), member, RECONNECT_PATIENCE);
    Domain d;
    try {
      d = call("looking it up", () -> c.domainLookupByName(name));
    } catch (NotFoundException gone) {
      return;
    }
    String id = call("reading its UUID", d::getUUIDString);
    LibvirtConnection.State s = c.state(id, member, where + ": reading its state");
    if (s.paused() && s.reason() != LibvirtConnection.PAUSED_IOERROR) {
      run("resuming it", d::resume);
    }
  }

  /** Starts the domain again from a save image, paused or running as it was before the capture. */
  private void startFromImage(Path image, boolean running) throws InterruptedException {
    LibvirtConnection c = connections.getPatiently(resource.locator(), member, RECONNECT_PATIENCE);
    String what = where + ": starting it again from its save image";
    int flags = running ? LibvirtNative.SAVE_RUNNING : LibvirtNative.SAVE_PAUSED;
    try {
      c.restoreImage(image, null, flags, member, what);
    } catch (LencapException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_INVALID_ARG) {
        throw e;
      }
      c.restoreImage(image, null, 0, member, what); // the driver takes no flags: it starts running
      if (!running) {
        run("suspending it as it was", () -> c.domainLookupByName(domainName).suspend());
      }
    }
  }

  @Override
  public void transfer(Cut cut, CaptureContext ctx) throws Exception {
    List<DomainXml.Disk> captured = disks.stream().filter(d -> d.writableLocal() && !excluded.contains(d.dev())).toList();
    long total = 0;
    Path memory = switch (plan) {
      case LIVE_SNAPSHOT, PAUSED_SNAPSHOT -> Path.of(cut.artefacts().get("memory"));
      case SAVE_IMAGE -> Path.of(cut.artefacts().get("image"));
      default -> null;
    };
    if (memory != null) {
      total += Files.size(memory);
    }
    for (DomainXml.Disk d : captured) {
      total += Files.size(d.source().orElseThrow());
    }
    ctx.state().expectBytes(total);
    AtomicReference<String> stopped = new AtomicReference<>();
    try (AutoCloseable watch = plan == Plan.LIVE_SNAPSHOT || plan == Plan.PAUSED_SNAPSHOT ? watchStop(stopped) : null) {
      if (memory != null) {
        StateFiles.capture(memory, withoutSecrets(memory, ctx), MEMORY, Map.of("format", "libvirt-save-image"),
            Chunking.contentDefined(), ctx, () -> checkAlive(stopped));
      } else {
        DomainXml definition = DomainXml.parse(call("reading its definition",
            () -> lookup().getXMLDesc(Domain.XMLFlags.INACTIVE)));
        definition.removeSecrets();
        String xml = definition.xml();
        try (var w = ctx.state().create(DEFINITION, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
          w.write(xml.getBytes(StandardCharsets.UTF_8), 0, xml.getBytes(StandardCharsets.UTF_8).length);
        }
      }
      List<String> devs = new ArrayList<>();
      for (DomainXml.Disk d : captured) {
        Path file = d.source().orElseThrow();
        Map<String, String> attrs = new TreeMap<>();
        attrs.put("dev", d.dev());
        attrs.put("path", file.toString());
        attrs.put("format", d.format().orElse("raw"));
        if (!StateFiles.reuseUnchanged(file, DISKS + d.dev(), attrs, ctx)) {
          StateFiles.capture(file, DISKS + d.dev(), attrs, Chunking.blocks(), ctx, () -> checkAlive(stopped));
        }
        devs.add(d.dev());
      }
      ctx.state().attribute("disks", String.join(",", devs));
      checkAlive(stopped);
      if (plan == Plan.LIVE_SNAPSHOT || plan == Plan.PAUSED_SNAPSHOT) {
        LibvirtConnection.State s = connections.get(resource.locator(), member).state(uuid, member,
            where + ": checking it after the transfer");
        if (!s.active()) {
          throw new UnavailableException(where + " stopped during the transfer; its checkpoint is not committed");
        }
      }
    }
  }

  /**
   * The first bytes of the memory image as the store gets them: libvirt writes the domain XML into the image with
   * its secure parts (a VNC password), and needs them there to start it again, so the file keeps them and only
   * the stored copy loses them. Null when the image is not QEMU's (the note says so if it matters).
   */
  private java.nio.ByteBuffer withoutSecrets(Path image, CaptureContext ctx) throws IOException {
    if (!SaveImage.isQemuImage(image)) {
      if (!protectedGraphics.isEmpty()) {
        ctx.note("the save image of this hypervisor's driver is stored as libvirt wrote it: if it holds graphics "
            + "passwords, so does the store (encrypt the store)");
      }
      return null;
    }
    return SaveImage.rewrittenHead(image, xml -> {
      DomainXml x = DomainXml.parse(xml);
      x.removeSecrets();
      return x.xml();
    });
  }

  private void checkAlive(AtomicReference<String> stopped) {
    String why = stopped.get();
    if (why != null) {
      throw new UnavailableException(where + " " + why + " during the transfer; its checkpoint is not committed");
    }
  }

  /** Notes when the domain stops or crashes while its cut is in flight. */
  private AutoCloseable watchStop(AtomicReference<String> stopped) throws LibvirtException {
    LifecycleListener l = (d, e) -> {
      try {
        if (d.getName().equals(domainName)
            && (e.getType() == DomainEventType.STOPPED || e.getType() == DomainEventType.CRASHED)) {
          stopped.compareAndSet(null, "stopped (" + e + ")");
        }
      } catch (LibvirtException ignored) {
        // the domain object went away with the domain
      }
      return 0;
    };
    return conn.watch(l);
  }

  /**
   * Undoes a cut. Its artefacts may come back from the store's journal (crash repair), so none is trusted: the
   * domain must be this member's, a memory file or save image must lie in the work directory, and an overlay or
   * base must be in that domain's disk chain as libvirt shows it now ({@link CutArtefacts}).
   */
  @Override
  public void release(Cut cut) throws Exception {
    Map<String, String> a = cut.artefacts();
    String kind = a.getOrDefault("kind", "");
    if (kind.equals(Plan.LIVE_SNAPSHOT.name()) || kind.equals(Plan.PAUSED_SNAPSHOT.name())) {
      LibvirtConnection c = connections.getPatiently(resource.locator(), member, RECONNECT_PATIENCE);
      CutArtefacts checked = new CutArtefacts(a, workDirectory(), where);
      Domain domain = ownDomain(c, checked.uuid());
      boolean active = domain != null && c.state(checked.uuid(), member, where + ": reading its state").active();
      if (active) {
        awaitNoJob(domain); // a snapshot that libvirtd finishes late must land before its overlays are merged
      }
      if (domain != null) {
        checked.chains(DomainXml.parse(call("reading its XML", () -> domain.getXMLDesc(0))),
            DomainXml.parse(call("reading its definition", () -> domain.getXMLDesc(Domain.XMLFlags.INACTIVE))));
      }
      Overlays overlays = new Overlays(member, where);
      for (String dev : checked.overlayDevices()) {
        if (domain == null) {
          log.warn("{}: the domain is gone; leaving the overlay of {} in place", where, dev);
        } else if (checked.lun(dev).isPresent()) {
          overlays.mergeBack(domain, active, dev, checked.overlay(dev), checked.lun(dev).get());
        } else {
          overlays.mergeBack(domain, active, dev, checked.overlay(dev), checked.base(dev));
        }
      }
      Files.deleteIfExists(checked.workFile("memory", ".mem"));
    } else if (kind.equals(Plan.SAVE_IMAGE.name())) {
      CutArtefacts checked = new CutArtefacts(a, workDirectory(), where);
      Path image = checked.workFile("image", ".save");
      if (Files.exists(image)) {
        LibvirtConnection c = connections.get(resource.locator(), member);
        Domain domain = ownDomain(c, checked.uuid());
        boolean active = domain != null && c.state(checked.uuid(), member, where + ": reading its state").active();
        if (!active) {
          // The process died (or resume failed) between save and restore: bring the domain back.
          log.warn("{}: starting it again from the save image left by capture", where);
          startFromImage(image, Boolean.parseBoolean(a.getOrDefault("running", "true")));
        }
        Files.deleteIfExists(image);
      }
    }
  }

  /** The domain with this UUID if it is this member's (by name); null when there is none. */
  private Domain ownDomain(LibvirtConnection c, String id) {
    Domain d = findByUuid(c, id);
    if (d != null && !call("reading its name", d::getName).equals(domainName)) {
      throw new LencapException(where + ": the cut to release names domain UUID " + id + ", which is not "
          + domainName + "'s; refusing to touch it");
    }
    return d;
  }

  /** Waits (bounded) until the domain runs no job: a snapshot libvirtd was slow to finish, a block job. */
  private void awaitNoJob(Domain domain) throws InterruptedException {
    long deadline = System.nanoTime() + RECONNECT_PATIENCE.toNanos();
    while (true) {
      int type;
      try {
        type = domain.getJobInfo().getType();
      } catch (LibvirtException e) {
        return; // drivers without job information (test) have no asynchronous snapshot either
      }
      if (type == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new UnavailableException(where + ": still runs a libvirt job after " + RECONNECT_PATIENCE
            + "; its cut is released by the next capture or repair");
      }
      java.util.concurrent.TimeUnit.MILLISECONDS.sleep(100); // polling libvirt's job state; it has no wait
    }
  }

  private Domain findByUuid(LibvirtConnection c, String id) {
    try {
      return call("looking it up by UUID", () -> c.domainLookupByUUIDString(id));
    } catch (NotFoundException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- restore

  @Override
  public void prepareRestore(RestoreContext ctx) throws Exception {
    restoring = true;
    conn = connections.get(resource.locator(), member);
    StoredState s = ctx.state();
    if (s.entry(MEMORY).isEmpty() && s.entry(DEFINITION).isEmpty()) {
      throw new LencapException("checkpoint " + ctx.checkpointId() + ", member " + member
          + ": holds neither a memory image nor a domain definition; it was not written by the libvirt provider");
    }
    String field = "placement[" + member + "].properties.domain";
    if (!ctx.inPlace()) {
      String hypervisor = call("asking the hypervisor type", conn::getType);
      String capturedName = s.attributes().getOrDefault("domain", domainName);
      if (!hypervisor.equalsIgnoreCase("QEMU") && !capturedName.equals(domainName)) {
        throw new InvalidSpecException(field, "libvirt's " + hypervisor + " driver cannot rename a domain on "
            + "restore; keep the name '" + capturedName + "' or restore onto a QEMU connection");
      }
      Domain existing = findByName(conn, domainName);
      if (existing != null && conn.state(call("reading its UUID", existing::getUUIDString), member,
          where + ": reading its state").active()) {
        throw new InvalidSpecException(field, where + " is running: stop it, or restore under another name");
      }
    }
    allowPassthrough(ctx);
    Optional<Path> dir = restoreDirectory(ctx);
    if (dir.isPresent()) {
      Files.createDirectories(dir.get());
    }
    Files.createDirectories(workDirectory());
  }

  /** The field a restore property of this member is set through: the member itself in place, else its placement. */
  private static String restoreField(RestoreContext ctx, String member, String property) {
    return (ctx.inPlace() ? "resources[" : "placement[") + member + "].properties." + property;
  }

  private Optional<Path> restoreDirectory(RestoreContext ctx) {
    Optional<String> dir = resource.property(DiskTargets.DIRECTORY);
    if (dir.isPresent() && !Path.of(dir.get()).isAbsolute()) {
      throw new InvalidSpecException(restoreField(ctx, member, DiskTargets.DIRECTORY), "'" + dir.get()
          + "' must be absolute");
    }
    return dir.map(Path::of);
  }

  private boolean allowPassthrough(RestoreContext ctx) {
    String v = resource.property(HostPassthrough.OPT_IN).orElse("false");
    if (!v.equals("true") && !v.equals("false")) {
      throw new InvalidSpecException(restoreField(ctx, member, HostPassthrough.OPT_IN), "'" + v
          + "' is neither true nor false");
    }
    return v.equals("true");
  }

  @Override
  public void restore(RestoreContext ctx) throws Exception {
    StoredState s = ctx.state();
    boolean inPlace = ctx.inPlace();
    String capturedName = s.attributes().getOrDefault("domain", domainName);
    // What this host runs now decides where bytes go; the store decides only what they are.
    Domain existing = findByName(conn, domainName);
    Optional<DomainXml> replaced = existing == null ? Optional.empty() : Optional.of(DomainXml.parse(
        call("reading its XML", () -> existing.getXMLDesc(Domain.XMLFlags.SECURE))));
    DiskTargets targets = new DiskTargets(domainName, inPlace ? replaced : Optional.empty(), restoreDirectory(ctx),
        restoreField(ctx, member, DiskTargets.DIRECTORY), ctx.checkpointId(), member);
    // 1. Materialise everything first (each chunk verified), so a bad checkpoint leaves the target untouched.
    Map<String, Path> finals = new LinkedHashMap<>();
    Map<Path, Path> staged = new LinkedHashMap<>();
    long total = s.entries().stream().mapToLong(StoredEntry::size).sum();
    long[] done = {0};
    Path memory = null;
    try {
      for (StoredEntry e : s.entries()) {
        if (!e.path().startsWith(DISKS)) {
          continue;
        }
        String dev = e.path().substring(DISKS.length());
        Path target = targets.target(dev, e.attribute("format").orElse("raw"));
        if (finals.containsValue(target)) {
          throw new InvalidSpecException(restoreField(ctx, member, DiskTargets.DIRECTORY), where + ": two stored "
              + "disks would be restored onto " + target);
        }
        Path stage = target.resolveSibling(target.getFileName() + ".lencap-restore");
        StateFiles.restore(s, e, stage, done, total, ctx);
        finals.put(dev, target);
        staged.put(stage, target);
      }
      if (s.entry(MEMORY).isPresent()) {
        memory = workDirectory().resolve(tag(ctx.checkpointId()) + "-" + member + ".mem");
        StateFiles.restore(s, s.entry(MEMORY).get(), memory, done, total, ctx);
      }
      // 2. The configuration to start: the image's own XML (or the stored definition), rewritten and checked.
      // The domain replaced keeps its UUID; a new one elsewhere gets a fresh one; in place with none, the stored.
      Optional<String> targetUuid = existing != null ? Optional.of(call("reading its UUID", existing::getUUIDString))
          : inPlace ? Optional.empty() : Optional.of(java.util.UUID.randomUUID().toString());
      Map<String, Resource> moved = new TreeMap<>();
      RestoredXml restored = new RestoredXml(replaced, finals, targets, secrets(s), allowPassthrough(ctx),
          restoreField(ctx, member, HostPassthrough.OPT_IN), where + ", checkpoint " + ctx.checkpointId());
      java.util.function.UnaryOperator<String> rewrite = xml -> {
        DomainXml dx = DomainXml.parse(xml);
        moved.putAll(movedLuns(dx, ctx));
        withMovedLuns(dx, moved);
        if (!inPlace) {
          dx.withName(domainName);
        }
        if (targetUuid.isPresent()) {
          dx.withUuid(targetUuid);
        }
        return restored.apply(dx).xml();
      };
      boolean qemu = call("asking the hypervisor type", conn::getType).equalsIgnoreCase("QEMU");
      String definition = null;
      if (memory != null && qemu) {
        // libvirt refuses another UUID through its XML argument, so the image's own XML is rewritten.
        SaveImage.rewriteXml(memory, rewrite);
        String seen = DomainXml.parse(conn.imageXml(memory, member, where + ": reading the saved domain XML")).name();
        if (!seen.equals(domainName)) {
          throw new LencapException(where + ": the memory image names domain '" + seen + "' after rewriting");
        }
      } else if (memory != null) {
        // Drivers that cannot take new XML (test, Xen) start the image's own: it must already be what we accept.
        restored.checkUnchanged(DomainXml.parse(conn.imageXml(memory, member, where + ": reading the saved domain XML")));
      } else {
        StoredEntry def = s.entry(DEFINITION).orElseThrow();
        try (var in = s.open(def)) {
          definition = rewrite.apply(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      // 3. Replace what runs there now: nothing is touched before this point.
      if (existing != null && conn.state(call("reading its UUID", existing::getUUIDString), member,
          where + ": reading its state").active()) {
        run("stopping it to restore over it", existing::destroy);
      }
      for (Map.Entry<Path, Path> m : staged.entrySet()) {
        Files.move(m.getKey(), m.getValue(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      staged.clear();
      // The moved LUNs' CHAP passwords, in the libvirt secrets the rewritten XML names, before QEMU logs in.
      moved.values().forEach(lun -> ChapSecrets.put(conn, member, where, lun));
      if (memory != null) {
        startPausedFrom(memory, capturedName);
        restoredState = s.attributes().getOrDefault("state", "running");
        if (!moved.isEmpty()) {
          followMovedLunsOnNextBoot(moved);
        }
      } else {
        String def = definition;
        run("defining it", () -> conn.domainDefineXML(def));
        restoredState = "shutoff";
      }
      pausedByUs = false;
    } finally {
      for (Path p : staged.keySet()) {
        Files.deleteIfExists(p);
      }
      if (memory != null) {
        Files.deleteIfExists(memory);
      }
    }
  }

  /** The graphics passwords a restored domain gets where the replaced domain has none to give. */
  private RestoredXml.Passwords secrets(StoredState s) {
    Optional<String> given = resource.secret(RestoredXml.GRAPHICS_PASSWORD).map(x -> x.reveal());
    Set<String> hadOne = Set.of(s.attributes().getOrDefault(RestoredXml.GRAPHICS_PROTECTED, "").split(","));
    return new RestoredXml.Passwords(given, hadOne);
  }

  /** The memory image ran with the moved LUNs; a persistent definition must name them too, or a cold boot goes back. */
  private void followMovedLunsOnNextBoot(Map<String, Resource> moved) {
    Domain d = call("looking it up", () -> conn.domainLookupByName(domainName));
    if (call("asking whether it is persistent", d::isPersistent) == 1) {
      String xml = call("reading its definition", () -> d.getXMLDesc(Domain.XMLFlags.SECURE | Domain.XMLFlags.INACTIVE));
      String fixed = withMovedLuns(DomainXml.parse(xml), moved).xml();
      run("pointing its definition at the LUNs it was restored onto", () -> conn.domainDefineXML(fixed));
    }
  }

  private void startPausedFrom(Path memory, String capturedName) {
    String what = where + ": restoring it from its memory image";
    try {
      conn.restoreImage(memory, null, LibvirtNative.SAVE_PAUSED, member, what);
    } catch (LencapException e) {
      ErrorNumber code = LibvirtErrors.code(e);
      boolean unsupported = code == ErrorNumber.VIR_ERR_INVALID_ARG || code == ErrorNumber.VIR_ERR_ARGUMENT_UNSUPPORTED;
      if (!unsupported || !capturedName.equals(domainName)) {
        throw e;
      }
      // Drivers without flags or XML rewriting (test, Xen): restore the image as it is, then pause it.
      conn.restoreImage(memory, null, 0, member, what);
      run("pausing it after the restore", () -> conn.domainLookupByName(domainName).suspend());
    }
  }

  private Domain findByName(LibvirtConnection c, String name) {
    try {
      return call("looking it up", () -> c.domainLookupByName(name));
    } catch (NotFoundException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- health

  @Override
  public Health probe() {
    LibvirtConnection c;
    try {
      c = connections.get(resource.locator(), member);
    } catch (LencapException e) {
      return Health.failed("libvirt unreachable at " + resource.redactedLocator() + ": " + e.getMessage());
    }
    try {
      Domain d = call("looking it up", () -> c.domainLookupByName(domainName));
      LibvirtConnection.State s = c.state(call("reading its UUID", d::getUUIDString), member, where);
      return switch (s.state()) {
        case LibvirtConnection.STATE_RUNNING, LibvirtConnection.STATE_BLOCKED -> Health.healthy();
        case LibvirtConnection.STATE_PAUSED -> s.reason() == LibvirtConnection.PAUSED_IOERROR
            ? Health.failed(where + " is paused on an I/O error")
            : new Health(Health.Status.HEALTHY, where + " is paused (reason " + s.reason() + ")");
        case LibvirtConnection.STATE_CRASHED -> Health.failed(where + " crashed");
        case LibvirtConnection.STATE_SHUTOFF -> Health.failed(where + " is shut off");
        default -> Health.degraded(where + " is in state " + s.state());
      };
    } catch (NotFoundException e) {
      return Health.failed(where + " does not exist");
    } catch (LencapException e) {
      return Health.failed(e.getMessage());
    }
  }

  @Override
  public <T> Optional<T> extension(Class<T> type) {
    if (type == FailureSignals.class) {
      return Optional.of(type.cast(new DomainSignals(resource, connections, domainName)));
    }
    return Optional.empty();
  }

  // ---------------------------------------------------------------- plumbing

  private Domain lookup() {
    LibvirtConnection c = conn != null ? conn : connections.get(resource.locator(), member);
    return call("looking it up", () -> c.domainLookupByName(domainName));
  }

  private Path workDirectory() {
    return context.workDirectory().resolve("libvirt");
  }

  /** A checkpoint id as a file-name part. */
  static String tag(String checkpointId) {
    return checkpointId.replaceAll("[^A-Za-z0-9._-]", "_");
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

  private <T> T call(String what, LibvirtErrors.Call<T> c) {
    return LibvirtErrors.call(member, where + ": " + what, c);
  }

  private void run(String what, LibvirtErrors.Action a) {
    LibvirtErrors.run(member, where + ": " + what, a);
  }

  @Override
  public String toString() {
    return "DomainDriver{" + where + "}";
  }
}
