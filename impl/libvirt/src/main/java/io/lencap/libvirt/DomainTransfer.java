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
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
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
      // The memory image and the disks are independent entries: the image is chunked on a thread of its own, and the
      // disks are read two at a time, so that one disk's fixed costs (qemu-img, qemu-nbd) overlap another's reads. A
      // failure on any side stops the others before the transfer fails.
      AtomicReference<Throwable> failed = new AtomicReference<>();
      Runnable check = () -> {
        checkAlive(stopped);
        if (failed.get() != null) {
          throw new CancellationException("stopped: the transfer failed (" + failed.get() + ")");
        }
      };
      Queue<DomainXml.Disk> disks = new ConcurrentLinkedQueue<>(captured);
      Callable<Void> readDisks = () -> {
        for (DomainXml.Disk d = disks.poll(); d != null; d = disks.poll()) {
          transferDisk(d, ctx, check);
        }
        return null;
      };
      List<FutureTask<Void>> others = new ArrayList<>();
      if (memory.isPresent()) {
        others.add(start("lencap-memory-" + domain.name(), failed, () -> {
          StateFiles.capture(memory.get(), withoutSecrets(memory.get(), ctx), DomainDriver.MEMORY,
              Map.of("format", "libvirt-save-image"), DomainDriver.MEMORY_CHUNKING, ctx, check);
          return null;
        }));
      }
      if (captured.size() > 1) {
        others.add(start("lencap-disks-" + domain.name(), failed, readDisks));
      }
      try {
        readDisks.call();
      } catch (Exception | Error e) {
        failed.compareAndSet(null, e);
      }
      awaitAll(others, failed);
      if (failed.get() != null) {
        throw first(failed.get()); // the failure that stopped the others, not their stop
      }
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

  private void transferDisk(DomainXml.Disk d, CaptureContext ctx, Runnable check) throws Exception {
    Path file = d.source().orElseThrow();
    Map<String, String> attrs = new TreeMap<>();
    attrs.put("dev", d.dev());
    attrs.put("path", file.toString());
    attrs.put("format", d.format().orElse("raw"));
    String entry = DomainDriver.DISKS + d.dev();
    if (tracking.isPresent() && tracking.get().tracks(d.dev())) {
      tracking.get().capture(d, entry, attrs, ctx, check);
    } else if (!StateFiles.reuseUnchanged(file, entry, attrs, ctx)) {
      StateFiles.Captured c = StateFiles.capture(file, entry, attrs, Chunking.blocks(), ctx, check);
      ctx.note("disk " + d.dev() + ": read whole (" + c.bytes() + " bytes) as its image file holds them"
          + (c.holes() > 0 ? " but for " + c.holes() + " bytes of holes, taken as zeros unread" : ""));
    }
  }

  /** Runs {@code body} on a daemon thread of its own; its failure, if first, is the transfer's. */
  private static FutureTask<Void> start(String name, AtomicReference<Throwable> failed, Callable<Void> body) {
    FutureTask<Void> task = new FutureTask<>(() -> {
      try {
        return body.call();
      } catch (Exception | Error e) {
        failed.compareAndSet(null, e);
        throw e;
      }
    });
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    t.start();
    return task;
  }

  private static Exception first(Throwable failure) {
    if (failure instanceof Error e) {
      throw e;
    }
    return (Exception) failure;
  }

  /** Waits until the other sides of the transfer have ended: nothing writes after the transfer returns or fails. */
  private static void awaitAll(List<FutureTask<Void>> sides, AtomicReference<Throwable> failed)
      throws InterruptedException {
    for (FutureTask<Void> side : sides) {
      try {
        side.get();
      } catch (InterruptedException e) {
        failed.compareAndSet(null, e); // the sides stop at their next buffer
        throw e;
      } catch (ExecutionException | CancellationException e) {
        // the side put its failure in failed, unless another's came first
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
