package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;

/**
 * Restores a domain from its stored state: disks and memory image materialised first (each chunk verified; a disk
 * restored in place differentially, {@link DifferentialRestore}: the blocks it will write, once the domain stopped), the
 * saved XML rewritten for this host and checked ({@link RestoredXml}), then whatever runs there replaced. The
 * domain is left paused: the engine resumes the group together. What this host runs decides where bytes go; the
 * store decides only what they are.
 */
final class DomainRestore {
  private final MemberDomain domain;
  private final Resource resource;
  private volatile LibvirtConnection conn;
  private volatile boolean pausedByUs;
  /** The target host's pool when it is remote (set by prepare); null for a local one. */
  private volatile RemotePool pool;
  /** The state the restored domain was captured in; null until it is restored. */
  private volatile String restoredState;

  DomainRestore(MemberDomain domain) {
    this.domain = domain;
    this.resource = domain.resource();
  }

  void prepare(RestoreContext ctx) throws Exception {
    conn = domain.connect();
    StoredState s = ctx.state();
    if (s.entry(DomainDriver.MEMORY).isEmpty() && s.entry(DomainDriver.DEFINITION).isEmpty()) {
      throw new LencapException("checkpoint " + ctx.checkpointId() + ", member " + domain.member()
          + ": holds neither a memory image nor a domain definition; it was not written by the libvirt provider");
    }
    String field = "placement[" + domain.member() + "].properties.domain";
    if (!ctx.inPlace()) {
      String hypervisor = domain.call("asking the hypervisor type", conn::getType);
      String capturedName = s.attributes().getOrDefault("domain", domain.name());
      if (!hypervisor.equalsIgnoreCase("QEMU") && !capturedName.equals(domain.name())) {
        throw new InvalidSpecException(field, "libvirt's " + hypervisor + " driver cannot rename a domain on "
            + "restore; keep the name '" + capturedName + "' or restore onto a QEMU connection");
      }
      Domain existing = domain.findByName(conn);
      if (existing != null && conn.state(domain.call("reading its UUID", existing::getUUIDString), domain.member(),
          domain.where() + ": reading its state").active()) {
        throw new InvalidSpecException(field, domain.where() + " is running: stop it, or restore under another name");
      }
    }
    allowPassthrough(ctx);
    if (PullBackupCut.isRemote(resource.locator())) {
      // Its files are the host's: they go into its pool through libvirt, nothing into this host's directories.
      pool = RemotePool.of(domain, conn, restoreField(ctx, domain.member(), RemotePool.PROPERTY));
      return;
    }
    Optional<Path> dir = restoreDirectory(ctx);
    if (dir.isPresent()) {
      Files.createDirectories(dir.get());
    }
    Files.createDirectories(domain.workDirectory());
  }

  /** The field a restore property of this member is set through: the member itself in place, else its placement. */
  private static String restoreField(RestoreContext ctx, String member, String property) {
    return (ctx.inPlace() ? "resources[" : "placement[") + member + "].properties." + property;
  }

  private Optional<Path> restoreDirectory(RestoreContext ctx) {
    Optional<String> dir = resource.property(DiskTargets.DIRECTORY);
    if (dir.isPresent() && !Path.of(dir.get()).isAbsolute()) {
      throw new InvalidSpecException(restoreField(ctx, domain.member(), DiskTargets.DIRECTORY), "'" + dir.get()
          + "' must be absolute");
    }
    return dir.map(Path::of);
  }

  private boolean allowPassthrough(RestoreContext ctx) {
    String v = resource.property(HostPassthrough.OPT_IN).orElse("false");
    if (!v.equals("true") && !v.equals("false")) {
      throw new InvalidSpecException(restoreField(ctx, domain.member(), HostPassthrough.OPT_IN), "'" + v
          + "' is neither true nor false");
    }
    return v.equals("true");
  }

  /** Pauses the domain the restore will replace, if it runs. */
  void quiesce() {
    LibvirtConnection c = domain.current();
    Domain existing = domain.call("looking it up", () -> c.domainLookupByName(domain.name()));
    String id = domain.call("reading its UUID", existing::getUUIDString);
    if (c.state(id, domain.member(), domain.where() + ": reading its state").running()) {
      domain.run("suspending it", existing::suspend);
      pausedByUs = true;
    }
  }

  void restore(RestoreContext ctx) throws Exception {
    StoredState s = ctx.state();
    boolean inPlace = ctx.inPlace();
    String member = domain.member();
    String where = domain.where();
    String capturedName = s.attributes().getOrDefault("domain", domain.name());
    Domain existing = domain.findByName(conn);
    Optional<DomainXml> replaced = existing == null ? Optional.empty() : Optional.of(DomainXml.parse(
        domain.call("reading its XML", () -> existing.getXMLDesc(Domain.XMLFlags.SECURE))));
    if (pool != null) {
      restoreRemotely(ctx, existing, replaced);
      return;
    }
    DiskTargets targets = new DiskTargets(domain.name(), inPlace ? replaced : Optional.empty(), restoreDirectory(ctx),
        restoreField(ctx, member, DiskTargets.DIRECTORY), ctx.checkpointId(), member);
    // 1. Materialise everything first (each chunk verified), so a bad checkpoint leaves the target untouched.
    Map<String, Path> finals = new LinkedHashMap<>();
    Map<Path, Path> staged = new LinkedHashMap<>();
    List<Pending> differential = new ArrayList<>();
    long total = s.entries().stream().mapToLong(StoredEntry::size).sum();
    long[] done = {0};
    Path memory = null;
    try {
      for (StoredEntry e : s.entries()) {
        if (!e.path().startsWith(DomainDriver.DISKS)) {
          continue;
        }
        String dev = e.path().substring(DomainDriver.DISKS.length());
        Path target = targets.target(dev, e.attribute("format").orElse("raw"));
        if (finals.containsValue(target)) {
          throw new InvalidSpecException(restoreField(ctx, member, DiskTargets.DIRECTORY), where + ": two stored "
              + "disks would be restored onto " + target);
        }
        Path stage = target.resolveSibling(target.getFileName() + ".lencap-restore");
        if (BitmapTracking.GUEST.equals(e.attributes().get(BitmapTracking.VIEW))) {
          String[] whyNot = {"?"};
          Optional<DifferentialRestore> diff = differential(ctx, e, dev, target, existing, replaced,
              why -> whyNot[0] = why);
          if (diff.isPresent()) {
            finals.put(dev, target);
            differential.add(new Pending(dev, e, stage, target, diff.get()));
            continue;
          }
          restoreWhole(s, e, dev, stage, done, total, ctx, whyNot[0]);
        } else {
          long t0 = System.nanoTime();
          StateFiles.restore(s, e, stage, true, done, total, ctx);
          ctx.note("disk " + dev + ": restored whole (" + e.size() + " bytes into a new image, "
              + (System.nanoTime() - t0) / 1_000_000 + " ms): stored as its image file's bytes, which no bitmap "
              + "tracks");
        }
        finals.put(dev, target);
        staged.put(stage, target);
      }
      if (s.entry(DomainDriver.MEMORY).isPresent()) {
        memory = domain.workDirectory().resolve(MemberDomain.tag(ctx.checkpointId()) + "-" + member + ".mem");
        // Read once by the restore that follows and deleted after it: nothing to make durable.
        StateFiles.restore(s, s.entry(DomainDriver.MEMORY).get(), memory, false, done, total, ctx);
      }
      // 2. The configuration to start: the image's own XML (or the stored definition), rewritten and checked.
      // The domain replaced keeps its UUID; a new one elsewhere gets a fresh one; in place with none, the stored.
      Optional<String> targetUuid = existing != null
          ? Optional.of(domain.call("reading its UUID", existing::getUUIDString))
          : inPlace ? Optional.empty() : Optional.of(UUID.randomUUID().toString());
      Map<String, Resource> moved = new TreeMap<>();
      RestoredXml restored = new RestoredXml(replaced, finals, targets, secrets(s), allowPassthrough(ctx),
          restoreField(ctx, member, HostPassthrough.OPT_IN), where + ", checkpoint " + ctx.checkpointId());
      UnaryOperator<String> rewrite = xml -> {
        DomainXml dx = DomainXml.parse(xml);
        moved.putAll(LunRelocation.movedLuns(dx, ctx));
        LunRelocation.withMovedLuns(dx, moved);
        if (!inPlace) {
          dx.withName(domain.name());
        }
        if (targetUuid.isPresent()) {
          dx.withUuid(targetUuid);
        }
        return restored.apply(dx).xml();
      };
      boolean qemu = domain.call("asking the hypervisor type", conn::getType).equalsIgnoreCase("QEMU");
      String definition = null;
      if (memory != null && qemu) {
        // libvirt refuses another UUID through its XML argument, so the image's own XML is rewritten.
        SaveImage.rewriteXml(memory, rewrite);
        String seen = DomainXml.parse(conn.imageXml(memory, member, where + ": reading the saved domain XML")).name();
        if (!seen.equals(domain.name())) {
          throw new LencapException(where + ": the memory image names domain '" + seen + "' after rewriting");
        }
      } else if (memory != null) {
        // Drivers that cannot take new XML (test, Xen) start the image's own: it must already be what we accept.
        restored.checkUnchanged(DomainXml.parse(conn.imageXml(memory, member, where + ": reading the saved domain XML")));
      } else {
        StoredEntry def = s.entry(DomainDriver.DEFINITION).orElseThrow();
        try (var in = s.open(def)) {
          definition = rewrite.apply(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      // 3. Replace what runs there now: nothing is touched before this point.
      if (existing != null && conn.state(domain.call("reading its UUID", existing::getUUIDString), member,
          where + ": reading its state").active()) {
        domain.run("stopping it to restore over it", existing::destroy);
      }
      // Stopped: the bitmaps are in the images now. Every block to write is staged before the first write.
      List<Pending> ready = new ArrayList<>();
      for (Pending p : differential) {
        Optional<String> whyNot = p.diff().stage(ctx);
        if (whyNot.isPresent()) {
          restoreWhole(s, p.entry(), p.dev(), p.stage(), done, total, ctx, whyNot.get());
          staged.put(p.stage(), p.target());
        } else {
          ready.add(p);
        }
      }
      for (Map.Entry<Path, Path> m : staged.entrySet()) {
        Files.move(m.getKey(), m.getValue(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      staged.clear();
      for (Pending p : ready) {
        ctx.note(p.diff().note(p.diff().write(ctx)));
        done[0] += p.entry().size();
        ctx.progress(done[0], total);
      }
      LunRelocation.putSecrets(domain, conn, moved);
      if (memory != null) {
        startPausedFrom(memory, capturedName);
        restoredState = s.attributes().getOrDefault("state", "running");
        if (!moved.isEmpty()) {
          LunRelocation.followOnNextBoot(domain, conn, moved);
        }
      } else {
        String def = definition;
        domain.run("defining it", () -> conn.domainDefineXML(def));
        restoredState = "shutoff";
      }
      pausedByUs = false;
    } finally {
      for (Path p : staged.keySet()) {
        Files.deleteIfExists(p);
      }
      for (Pending p : differential) {
        p.diff().discard();
      }
      if (memory != null) {
        Files.deleteIfExists(memory);
      }
    }
  }

  /** A disk to restore differentially, and what it needs to be restored whole instead. */
  private record Pending(String dev, StoredEntry entry, Path stage, Path target, DifferentialRestore diff) {}

  /**
   * A differential restore of a disk stored as the guest sees it, when the restore is in place onto this host's
   * domain and its image proves one ({@link DifferentialRestore}); otherwise the notes say why it goes whole.
   */
  private Optional<DifferentialRestore> differential(RestoreContext ctx, StoredEntry e, String dev, Path target,
      Domain existing, Optional<DomainXml> replaced, Consumer<String> whyNot) throws IOException {
    Optional<DomainXml.Disk> live = replaced.flatMap(x -> x.disks().stream().filter(d -> d.dev().equals(dev))
        .findFirst());
    if (!ctx.inPlace() || live.isEmpty()) {
      whyNot.accept(ctx.inPlace() ? "there is no such disk to restore over" : "the restore is not in place");
      return Optional.empty();
    }
    long min = DifferentialRestore.minBytes();
    if (e.size() < min) {
      whyNot.accept("it is smaller than " + min + " bytes, which a whole restore writes faster than a differential one "
          + "does its fixed work (three qemu-nbd runs, about 3 s here)");
      return Optional.empty();
    }
    Set<String> bitmaps = new TreeSet<>(QemuImg.bitmapNames(target));
    try {
      bitmaps.addAll(new Checkpoints(conn, domain.call("reading its UUID", existing::getUUIDString), domain.member(),
          domain.where()).names());
    } catch (RuntimeException x) {
      // A driver without checkpoints: the image's header alone names the bitmaps.
    }
    return DifferentialRestore.plan(ctx, e, live.get(), target, bitmaps, domain.where(), whyNot);
  }

  /** A disk stored as the guest sees it, into a new image, noting how long it took and why it went whole. */
  private static void restoreWhole(StoredState s, StoredEntry e, String dev, Path stage, long[] done, long total,
      RestoreContext ctx, String why) throws IOException {
    long t0 = System.nanoTime();
    restoreGuestView(s, e, stage, done, total, ctx);
    ctx.note("disk " + dev + ": restored whole (" + e.size() + " bytes into a new image, "
        + (System.nanoTime() - t0) / 1_000_000 + " ms): " + why);
  }

  /**
   * Onto a remote host ({@link RemoteRestore}): the XML rewritten as for a local restore, disks at the volumes the
   * upload created, consoles of no replaced domain moved into the pool's directory on that host.
   */
  private void restoreRemotely(RestoreContext ctx, Domain existing, Optional<DomainXml> replaced) {
    boolean inPlace = ctx.inPlace();
    String member = domain.member();
    if (!domain.call("asking the hypervisor type", conn::getType).equalsIgnoreCase("QEMU")) {
      throw new InvalidSpecException(restoreField(ctx, member, RemotePool.PROPERTY), domain.where() + " is on a "
          + "remote host: Lencap restores there through QEMU's save images only");
    }
    Optional<String> targetUuid = existing != null
        ? Optional.of(domain.call("reading its UUID", existing::getUUIDString))
        : inPlace ? Optional.empty() : Optional.of(UUID.randomUUID().toString());
    DiskTargets consoles = new DiskTargets(domain.name(), Optional.empty(), Optional.of(pool.directory()),
        restoreField(ctx, member, RemotePool.PROPERTY), ctx.checkpointId(), member);
    restoredState = new RemoteRestore(domain, conn, pool).restore(ctx, replaced, existing, (xml, disks, formats) -> {
      DomainXml dx = DomainXml.parse(xml);
      if (!LunRelocation.movedLuns(dx, ctx).isEmpty()) {
        throw new InvalidSpecException(restoreField(ctx, member, RemotePool.PROPERTY), domain.where() + ": a "
            + "restore onto a remote host does not follow moved LUNs yet");
      }
      if (!inPlace) {
        dx.withName(domain.name());
      }
      targetUuid.ifPresent(u -> dx.withUuid(Optional.of(u)));
      dx.withDiskFormats(formats);
      RestoredXml restored = new RestoredXml(replaced, disks, consoles, secrets(ctx.state()), allowPassthrough(ctx),
          restoreField(ctx, member, HostPassthrough.OPT_IN), domain.where() + ", checkpoint " + ctx.checkpointId());
      return restored.apply(dx).xml();
    });
    pausedByUs = false;
  }

  /** Runs the restored domain if it was captured running, or a domain quiesce paused that no restore replaced. */
  void resume() throws InterruptedException {
    if ("running".equals(restoredState) || restoredState == null && pausedByUs) {
      domain.resumeIfPaused();
    }
    pausedByUs = false;
  }

  /** The graphics passwords a restored domain gets where the replaced domain has none to give. */
  private RestoredXml.Passwords secrets(StoredState s) {
    Optional<String> given = resource.secret(RestoredXml.GRAPHICS_PASSWORD).map(x -> x.reveal());
    Set<String> hadOne = Set.of(s.attributes().getOrDefault(RestoredXml.GRAPHICS_PROTECTED, "").split(","));
    return new RestoredXml.Passwords(given, hadOne);
  }

  private void startPausedFrom(Path memory, String capturedName) {
    String what = domain.where() + ": restoring it from its memory image";
    try {
      conn.restoreImage(memory, null, LibvirtNative.SAVE_PAUSED, domain.member(), what);
    } catch (LencapException e) {
      ErrorNumber code = LibvirtErrors.code(e);
      boolean unsupported = code == ErrorNumber.VIR_ERR_INVALID_ARG || code == ErrorNumber.VIR_ERR_ARGUMENT_UNSUPPORTED;
      if (!unsupported || !capturedName.equals(domain.name())) {
        throw e;
      }
      // Drivers without flags or XML rewriting (test, Xen): restore the image as it is, then pause it.
      conn.restoreImage(memory, null, 0, domain.member(), what);
      domain.run("pausing it after the restore", () -> conn.domainLookupByName(domain.name()).suspend());
    }
  }

  /**
   * A disk stored as the guest sees it (changed-block tracking) into a new image of its format, zero chunks left
   * unallocated. The new image holds no bitmap, so the next capture reads it whole. A qcow2 image is written once, as
   * its bytes come from the store ({@link Qcow2Writer}).
   */
  private static void restoreGuestView(StoredState s, StoredEntry e, Path stage, long[] done, long total,
      RestoreContext ctx) throws IOException {
    if (!e.attribute("format").orElse("raw").equals("qcow2")) {
      StateFiles.restore(s, e, stage, true, done, total, ctx);
      return;
    }
    try {
      StateFiles.restoreQcow2(s, e, stage, done, total, ctx);
    } catch (IOException | RuntimeException x) {
      Files.deleteIfExists(stage);
      throw x;
    }
  }
}
