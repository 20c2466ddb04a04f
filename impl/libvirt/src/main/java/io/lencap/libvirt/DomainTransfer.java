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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
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
      if (memory.isEmpty()) {
        storeDefinition(domain, ctx);
      }
      // The memory image and the disks are independent entries: the image is chunked on a second core while the
      // disks are read, and a failure on either side stops the other before the transfer fails.
      AtomicReference<Throwable> failed = new AtomicReference<>();
      Runnable check = () -> {
        checkAlive(stopped);
        if (failed.get() != null) {
          throw new CancellationException("stopped: the transfer failed (" + failed.get() + ")");
        }
      };
      FutureTask<Void> image = memory.isEmpty() ? null : new FutureTask<>(() -> {
        try {
          StateFiles.capture(memory.get(), withoutSecrets(memory.get(), ctx), DomainDriver.MEMORY,
              Map.of("format", "libvirt-save-image"), DomainDriver.MEMORY_CHUNKING, ctx, check);
          return null;
        } catch (Exception | Error e) {
          failed.compareAndSet(null, e);
          throw e;
        }
      });
      if (image != null) {
        Thread t = new Thread(image, "lencap-memory-" + domain.name());
        t.setDaemon(true);
        t.start();
      }
      try {
        transferDisks(captured, ctx, check);
      } catch (Exception | Error e) {
        failed.compareAndSet(null, e);
        awaitQuietly(image);
        throw first(failed.get()); // the image's own failure when it stopped the disks, not the stop
      }
      awaitImage(image, failed);
      ctx.state().attribute("disks", captured.stream().map(DomainXml.Disk::dev).collect(Collectors.joining(",")));
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

  private void transferDisks(List<DomainXml.Disk> captured, CaptureContext ctx, Runnable check) throws Exception {
    for (DomainXml.Disk d : captured) {
      Path file = d.source().orElseThrow();
      Map<String, String> attrs = new TreeMap<>();
      attrs.put("dev", d.dev());
      attrs.put("path", file.toString());
      attrs.put("format", d.format().orElse("raw"));
      String entry = DomainDriver.DISKS + d.dev();
      if (tracking.isPresent() && tracking.get().tracks(d.dev())) {
        tracking.get().capture(d, entry, attrs, ctx, check);
      } else if (!StateFiles.reuseUnchanged(file, entry, attrs, ctx)) {
        StateFiles.capture(file, entry, attrs, Chunking.blocks(), ctx, check);
      }
    }
  }

  /** Waits for the memory image's transfer; its failure is thrown as it was, not wrapped. */
  private static void awaitImage(FutureTask<Void> image, AtomicReference<Throwable> failed) throws Exception {
    if (image == null) {
      return;
    }
    try {
      image.get();
    } catch (InterruptedException e) {
      failed.compareAndSet(null, e); // the image stops at its next buffer
      throw e;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) {
        throw x;
      }
      throw (Error) e.getCause();
    }
  }

  private static Exception first(Throwable failure) {
    if (failure instanceof Error e) {
      throw e;
    }
    return (Exception) failure;
  }

  /** After the disks failed, waits until the memory image's transfer has stopped: nothing writes after a failure. */
  private static void awaitQuietly(FutureTask<Void> image) throws InterruptedException {
    if (image == null) {
      return;
    }
    try {
      image.get();
    } catch (ExecutionException | CancellationException stopped) {
      // the disks' failure is the one reported
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
