package io.lencap.libvirt;

import io.lencap.api.UnavailableException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;

/**
 * Stores a cut domain: its memory image (without secrets) or, for a domain that was shut off, its definition,
 * then each captured disk. During a live cut the domain runs on: a domain that stops meanwhile fails the transfer,
 * since its overlays, and so the checkpoint, are lost with it.
 */
final class DomainTransfer {
  private final MemberDomain domain;
  private final PreparedDomain prepared;
  private final Optional<BitmapTracking> tracking;

  DomainTransfer(MemberDomain domain, PreparedDomain prepared, Optional<BitmapTracking> tracking) {
    this.domain = domain;
    this.prepared = prepared;
    this.tracking = tracking;
  }

  void transfer(Cut cut, Optional<Path> memory, CaptureContext ctx) throws Exception {
    List<DomainXml.Disk> captured = prepared.capturedDisks();
    long total = 0;
    if (memory.isPresent()) {
      total += Files.size(memory.get());
    }
    for (DomainXml.Disk d : captured) {
      total += Files.size(d.source().orElseThrow());
    }
    ctx.state().expectBytes(total);
    AtomicReference<String> stopped = new AtomicReference<>();
    try (AutoCloseable watch = cut.live() ? watchStop(stopped) : null) {
      if (memory.isPresent()) {
        StateFiles.capture(memory.get(), withoutSecrets(memory.get(), ctx), DomainDriver.MEMORY,
            Map.of("format", "libvirt-save-image"), DomainDriver.MEMORY_CHUNKING, ctx, () -> checkAlive(stopped));
      } else {
        storeDefinition(domain, ctx);
      }
      List<String> devs = new ArrayList<>();
      for (DomainXml.Disk d : captured) {
        Path file = d.source().orElseThrow();
        Map<String, String> attrs = new TreeMap<>();
        attrs.put("dev", d.dev());
        attrs.put("path", file.toString());
        attrs.put("format", d.format().orElse("raw"));
        String entry = DomainDriver.DISKS + d.dev();
        if (tracking.isPresent() && tracking.get().tracks(d.dev())) {
          tracking.get().capture(d, entry, attrs, ctx, () -> checkAlive(stopped));
        } else if (!StateFiles.reuseUnchanged(file, entry, attrs, ctx)) {
          StateFiles.capture(file, entry, attrs, Chunking.blocks(), ctx, () -> checkAlive(stopped));
        }
        devs.add(d.dev());
      }
      ctx.state().attribute("disks", String.join(",", devs));
      if (tracking.isPresent()) {
        tracking.get().record(ctx);
      }
      checkAlive(stopped);
      if (cut.live()) {
        LibvirtConnection.State s = domain.current().state(prepared.uuid(), domain.member(),
            domain.where() + ": checking it after the transfer");
        if (!s.active()) {
          throw new UnavailableException(domain.where() + " stopped during the transfer; its checkpoint is not committed");
        }
      }
    }
  }

  /** Stores the domain's inactive definition without secrets: what a restore starts when no memory was captured. */
  static void storeDefinition(MemberDomain domain, CaptureContext ctx) throws IOException {
    DomainXml definition = DomainXml.parse(domain.call("reading its definition",
        () -> domain.lookup().getXMLDesc(Domain.XMLFlags.INACTIVE)));
    definition.removeSecrets();
    byte[] xml = definition.xml().getBytes(StandardCharsets.UTF_8);
    try (var w = ctx.state().create(DomainDriver.DEFINITION, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
      w.write(xml, 0, xml.length);
    }
  }

  /**
   * The first bytes of the memory image as the store gets them: libvirt writes the domain XML into the image with
   * its secure parts (a VNC password), and needs them there to start it again, so the file keeps them and only
   * the stored copy loses them. Null when the image is not QEMU's (the note says so if it matters).
   */
  private ByteBuffer withoutSecrets(Path image, CaptureContext ctx) throws IOException {
    if (!SaveImage.isQemuImage(image)) {
      if (!prepared.protectedGraphics().isEmpty()) {
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
      throw new UnavailableException(domain.where() + " " + why + " during the transfer; its checkpoint is not committed");
    }
  }

  /** Notes when the domain stops or crashes while its cut is in flight. */
  private AutoCloseable watchStop(AtomicReference<String> stopped) throws LibvirtException {
    LifecycleListener l = (d, e) -> {
      try {
        if (d.getName().equals(domain.name())
            && (e.getType() == DomainEventType.STOPPED || e.getType() == DomainEventType.CRASHED)) {
          stopped.compareAndSet(null, "stopped (" + e + ")");
        }
      } catch (LibvirtException ignored) {
        // the domain object went away with the domain
      }
      return 0;
    };
    return domain.connection().watch(l);
  }
}
