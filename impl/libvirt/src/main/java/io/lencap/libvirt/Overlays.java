package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.api.LencapTimeoutException;
import java.io.IOException;
import java.nio.file.Files;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.libvirt.Domain;
import org.libvirt.DomainBlockJobInfo;
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
    mergeBack(domain, active, dev, overlay, base.toString(), x -> x.withDiskSources(Map.of(dev, base)));
  }

  /** The same for an overlay over an iSCSI LUN that QEMU reaches itself. */
  void mergeBack(Domain domain, boolean active, String dev, Path overlay, URI lun) throws IOException {
    mergeBack(domain, active, dev, overlay, lun.toString(), x -> x.withLunSource(dev, lun));
  }

  /**
   * @param base what the overlay sits on, for messages
   * @param pointBack rewrites the inactive definition so that {@code dev} uses its base again
   */
  private void mergeBack(Domain domain, boolean active, String dev, Path overlay, String base,
      UnaryOperator<DomainXml> pointBack) throws IOException {
    if (!Files.exists(overlay)) {
      return; // merged and deleted by an earlier release
    }
    if (domain == null) {
      log.warn("{}: the domain is gone; leaving its overlay {} in place", where, overlay);
      return;
    }
    if (active) {
      if (source(domain, dev, 0).filter(overlay::equals).isPresent()) {
        commitActive(domain, dev);
      }
    } else {
      int flags = Domain.XMLFlags.SECURE | Domain.XMLFlags.INACTIVE;
      if (source(domain, dev, flags).filter(overlay::equals).isPresent()) {
        commitOffline(overlay);
        String xml = LibvirtErrors.call(member, where + ": reading the inactive XML", () -> domain.getXMLDesc(flags));
        String fixed = pointBack.apply(DomainXml.parse(xml)).xml();
        LibvirtErrors.run(member, where + ": pointing disk " + dev + " back at " + base,
            () -> domain.getConnect().domainDefineXML(fixed));
      }
    }
    Files.deleteIfExists(overlay);
  }

  private Optional<Path> source(Domain domain, String dev, int flags) {
    String xml = LibvirtErrors.call(member, where + ": reading its XML", () -> domain.getXMLDesc(flags));
    return DomainXml.parse(xml).disks().stream().filter(d -> d.dev().equals(dev)).findFirst()
        .flatMap(DomainXml.Disk::source);
  }

  private void commitActive(Domain domain, String dev) {
    String what = where + ": merging the overlay of " + dev + " back (block commit)";
    LibvirtErrors.run(member, what, () -> domain.blockCommit(dev, null, null, 0, Domain.BlockCommitFlags.ACTIVE));
    long deadline = System.nanoTime() + COMMIT_LIMIT.toNanos();
    // An active commit never ends by itself: once it has caught up (cur == end) we pivot to the base.
    while (true) {
      DomainBlockJobInfo info = LibvirtErrors.call(member, what, () -> domain.getBlockJobInfo(dev, 0));
      if (info.type == 0) {
        throw new LencapException(what + ": the block job disappeared before it was ready");
      }
      if (info.cur == info.end) {
        try {
          LibvirtErrors.run(member, what, () -> domain.blockJobAbort(dev, Domain.BlockJobAbortFlags.PIVOT));
          return;
        } catch (LencapException notReadyYet) {
          if (LibvirtErrors.code(notReadyYet) != org.libvirt.Error.ErrorNumber.VIR_ERR_BLOCK_COPY_ACTIVE
              && LibvirtErrors.code(notReadyYet) != org.libvirt.Error.ErrorNumber.VIR_ERR_OPERATION_INVALID) {
            throw notReadyYet;
          }
        }
      }
      if (System.nanoTime() > deadline) {
        throw new LencapTimeoutException(what + ": not ready after " + COMMIT_LIMIT);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(10); // polling libvirt's job; it has no blocking wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        LibvirtErrors.run(member, what, () -> domain.blockJobAbort(dev, 0));
        throw new LencapException(what + ": interrupted; the block job was cancelled");
      }
    }
  }

  private void commitOffline(Path overlay) throws IOException {
    Path out = Files.createTempFile("lencap-qemu-img", ".log");
    try {
      Process p = new ProcessBuilder("qemu-img", "commit", "-q", overlay.toString())
          .redirectErrorStream(true).redirectOutput(out.toFile()).start();
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
