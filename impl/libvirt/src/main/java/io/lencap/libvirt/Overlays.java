package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import io.lencap.iscsi.address.IscsiLocator;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainBlockJobInfo;
import org.libvirt.Secret;
import org.libvirt.SecretUsageType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges a snapshot's overlay back into its base so that disk chains never grow: an active block commit
 * with pivot while the domain runs, {@code qemu-img commit} and a redefinition when it is shut off.
 */
final class Overlays {
  private static final Logger log = LoggerFactory.getLogger(Overlays.class);
  private static final Duration COMMIT_LIMIT = Duration.ofMinutes(30);

  private final String member;
  private final String where;

  Overlays(String member, String where) {
    this.member = member;
    this.where = where;
  }

  /** Merges {@code overlay} of disk {@code dev} into {@code base} if the domain still uses it, then deletes it. */
  void mergeBack(Domain domain, boolean active, String dev, Path overlay, Path base) throws IOException {
    mergeBack(domain, active, dev, overlay, base.toString(), x -> {
      commitOffline(overlay, List.of(overlay.toString()));
      return x.withDiskSources(Map.of(dev, base));
    });
  }

  /**
   * The same for an overlay over an iSCSI LUN that QEMU reaches itself. Offline, {@code qemu-img} opens the LUN
   * as the definition describes it (CHAP user and libvirt secret, initiator name), not through the overlay's
   * backing file name, which carries no credentials.
   */
  void mergeBack(Domain domain, boolean active, String dev, Path overlay, URI lun) throws IOException {
    mergeBack(domain, active, dev, overlay, lun.toString(), x -> {
      DomainXml.LunAccess access = x.lunAccess(dev).orElse(DomainXml.LunAccess.of(lun));
      commitOffline(domain, overlay, access);
      return x.withLunSource(dev, lun);
    });
  }

  /** Merges offline and rewrites the inactive definition so that the disk uses its base again. */
  private interface OfflineMerge {
    DomainXml apply(DomainXml inactive) throws IOException;
  }

  /** @param base what the overlay sits on, for messages */
  private void mergeBack(Domain domain, boolean active, String dev, Path overlay, String base, OfflineMerge offline)
      throws IOException {
    if (!Files.exists(overlay)) {
      return; // merged and deleted by an earlier release
    }
    if (domain == null) {
      log.warn("{}: the domain is gone; leaving its overlay {} in place", where, overlay);
      return;
    }
    if (active) {
      mergeBackLive(domain, Map.of(dev, overlay));
      return;
    }
    DomainXml inactive = xml(domain, Domain.XMLFlags.SECURE | Domain.XMLFlags.INACTIVE);
    if (source(inactive, dev).filter(overlay::equals).isPresent()) {
      String fixed = offline.apply(inactive).xml();
      LibvirtErrors.run(member, where + ": pointing disk " + dev + " back at " + base,
          () -> domain.getConnect().domainDefineXML(fixed));
    }
    Files.deleteIfExists(overlay);
  }

  private DomainXml xml(Domain domain, int flags) {
    return DomainXml.parse(LibvirtErrors.call(member, where + ": reading its XML", () -> domain.getXMLDesc(flags)));
  }

  private static Optional<Path> source(DomainXml xml, String dev) {
    return xml.disks().stream().filter(d -> d.dev().equals(dev)).findFirst().flatMap(DomainXml.Disk::source);
  }

  /**
   * Merges the overlays of a running domain, device to overlay: the block commits of all its disks run at once, and
   * each pivots to its base as soon as it has caught up. On a failure the commits still running are cancelled (the
   * overlays they leave stay in use, and the next release merges them).
   */
  void mergeBackLive(Domain domain, Map<String, Path> overlays) throws IOException {
    DomainXml now = xml(domain, 0);
    Map<String, String> running = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Path> o : overlays.entrySet()) {
        if (Files.exists(o.getValue())
            && source(now, o.getKey()).filter(o.getValue()::equals).isPresent()) {
          String what = where + ": merging the overlay of " + o.getKey() + " back (block commit)";
          LibvirtErrors.run(member, what,
              () -> domain.blockCommit(o.getKey(), null, null, 0, Domain.BlockCommitFlags.ACTIVE));
          running.put(o.getKey(), what);
        }
      }
      awaitPivots(domain, running);
    } catch (RuntimeException e) {
      running.forEach((dev, what) -> cancelQuietly(domain, dev, what));
      throw e;
    }
    for (Path overlay : overlays.values()) {
      Files.deleteIfExists(overlay);
    }
  }

  /** Pivots each device's active commit to its base once it has caught up; removes each from {@code running}. */
  private void awaitPivots(Domain domain, Map<String, String> running) {
    long deadline = System.nanoTime() + COMMIT_LIMIT.toNanos();
    while (!running.isEmpty()) {
      for (var it = running.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<String, String> job = it.next();
        String dev = job.getKey();
        String what = job.getValue();
        DomainBlockJobInfo info = LibvirtErrors.call(member, what, () -> domain.getBlockJobInfo(dev, 0));
        if (info.type == 0) {
          it.remove();
          throw new LencapException(what + ": the block job disappeared before it was ready");
        }
        // An active commit never ends by itself: once it has caught up (cur == end) it pivots to the base.
        if (info.cur == info.end && pivoted(domain, dev, what)) {
          it.remove();
        }
      }
      if (running.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new LencapTimeoutException(where + ": merging the overlays of " + running.keySet()
            + " back: not ready after " + COMMIT_LIMIT);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(10); // polling libvirt's jobs; it has no blocking wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new LencapException(where + ": interrupted while merging the overlays of " + running.keySet()
            + " back; the block jobs were cancelled");
      }
    }
  }

  private boolean pivoted(Domain domain, String dev, String what) {
    try {
      LibvirtErrors.run(member, what, () -> domain.blockJobAbort(dev, Domain.BlockJobAbortFlags.PIVOT));
      return true;
    } catch (LencapException notReadyYet) {
      if (LibvirtErrors.code(notReadyYet) != org.libvirt.Error.ErrorNumber.VIR_ERR_BLOCK_COPY_ACTIVE
          && LibvirtErrors.code(notReadyYet) != org.libvirt.Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw notReadyYet;
      }
      return false;
    }
  }

  private void cancelQuietly(Domain domain, String dev, String what) {
    try {
      LibvirtErrors.run(member, what, () -> domain.blockJobAbort(dev, 0));
    } catch (LencapException e) {
      log.warn("{}: cancelling it failed: {}", what, e.getMessage());
    }
  }

  /**
   * {@code qemu-img commit} of an overlay over a LUN, the LUN given as options; a CHAP password goes from the
   * libvirt secret into a file only root can read, named on the command line by path, deleted afterwards.
   */
  private void commitOffline(Domain domain, Path overlay, DomainXml.LunAccess a) throws IOException {
    String path = a.lun().getPath().substring(1);
    int slash = path.lastIndexOf('/');
    boolean numbered = slash > 0 && path.substring(slash + 1).matches("\\d+");
    StringBuilder opts = new StringBuilder("driver=qcow2,file.driver=file,file.filename=").append(opt(overlay.toString()))
        .append(",backing.driver=raw,backing.file.driver=iscsi,backing.file.transport=tcp,backing.file.portal=")
        .append(opt(a.lun().getHost() + ":" + IscsiLocator.port(a.lun())))
        .append(",backing.file.target=").append(opt(numbered ? path.substring(0, slash) : path))
        .append(",backing.file.lun=").append(numbered ? path.substring(slash + 1) : "0");
    a.initiator().ifPresent(i -> opts.append(",backing.file.initiator-name=").append(opt(i)));
    if (a.user().isEmpty()) {
      commitOffline(overlay, List.of("--image-opts", opts.toString()));
      return;
    }
    Path key = Files.createTempFile("lencap-chap", ".key",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      byte[] password = chapPassword(domain, a);
      try {
        Files.write(key, password);
      } finally {
        Arrays.fill(password, (byte) 0);
      }
      opts.append(",backing.file.user=").append(opt(a.user().get())).append(",backing.file.password-secret=lencap-chap");
      commitOffline(overlay, List.of("--object", "secret,id=lencap-chap,format=raw,file=" + opt(key.toString()),
          "--image-opts", opts.toString()));
    } finally {
      Files.deleteIfExists(key);
    }
  }

  /** A value inside qemu's option syntax: commas are doubled. */
  private static String opt(String value) {
    return value.replace(",", ",,");
  }

  /** The CHAP password the definition names: the value of a libvirt secret, looked up by UUID or iSCSI usage. */
  private byte[] chapPassword(Domain domain, DomainXml.LunAccess a) throws IOException {
    String which = a.secretUuid().map(u -> "libvirt secret " + u)
        .or(() -> a.secretUsage().map(u -> "libvirt secret of iSCSI usage '" + u + "'"))
        .orElseThrow(() -> new IOException(where + ": the CHAP user of " + a.lun() + " names no libvirt secret"));
    String what = where + ": reading the " + which + " to merge an overlay over " + a.lun() + " offline";
    Connect c = domain.getConnect();
    Secret secret = LibvirtErrors.call(member, what, () -> {
      if (a.secretUuid().isPresent()) {
        return c.secretLookupByUUIDString(a.secretUuid().get());
      }
      for (String uuid : c.listSecrets()) {
        Secret s = c.secretLookupByUUIDString(uuid);
        if (s.getUsageType() == SecretUsageType.ISCSI && a.secretUsage().get().equals(s.getUsageID())) {
          return s;
        }
      }
      return null;
    });
    if (secret == null) {
      throw new IOException(what + ": there is no such secret");
    }
    try {
      return LibvirtErrors.call(member, what, secret::getByteValue);
    } catch (LencapException e) {
      // A private secret is readable only inside libvirt: the overlay stays (the definition keeps using it, so
      // nothing is lost) until a capture finds the domain running and merges it live.
      throw new IOException(what + " failed (" + e.getMessage() + "); a private secret cannot be read outside "
          + "libvirt: the overlay stays in use and is merged live by the next capture of the running domain", e);
    }
  }

  /** Runs {@code qemu-img commit -q ARGS}, the last argument naming {@code overlay} (a path or image options). */
  private void commitOffline(Path overlay, List<String> args) throws IOException {
    List<String> command = new ArrayList<>(List.of("qemu-img", "commit", "-q"));
    command.addAll(args);
    Path out = Files.createTempFile("lencap-qemu-img", ".log");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(COMMIT_LIMIT.toMinutes(), TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new LencapTimeoutException(where + ": qemu-img commit " + overlay + " did not finish");
      }
      if (p.exitValue() != 0) {
        throw new IOException(where + ": qemu-img commit " + overlay + " failed: " + Files.readString(out).trim());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(where + ": interrupted while merging " + overlay, e);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
