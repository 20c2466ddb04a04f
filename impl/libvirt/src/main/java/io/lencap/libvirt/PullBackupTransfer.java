package io.lencap.libvirt;

import io.lencap.api.UnavailableException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Stores a {@link PullBackupCut}: the memory image, downloaded from the host's pool through a libvirt stream with
 * its XML's secrets left out of the stored copy, then each captured disk read over TCP from the backup job's NBD
 * export, as the guest sees it ({@code view=guest}). No byte goes through a path this process opens.
 * The job must still be libvirt's when the reads are done: an export read after libvirt lost its job (its daemon
 * died or restarted) is not proven to be the cut's, so the transfer fails and nothing is committed.
 */
final class PullBackupTransfer {

  /**
   * How long a read from a remote export may go unanswered before the transfer fails: about what libvirt's
   * keepalive takes to give up a connection whose peer vanished ({@link LibvirtConnection#KEEPALIVE_COUNT} probes
   * {@link LibvirtConnection#KEEPALIVE_INTERVAL_SECONDS} s apart), with room for a slow host.
   */
  static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

  private final MemberDomain domain;
  private final PreparedDomain prepared;
  private final RemotePool pool;

  PullBackupTransfer(MemberDomain domain, PreparedDomain prepared, RemotePool pool) {
    this.domain = domain;
    this.prepared = prepared;
    this.pool = pool;
  }

  void transfer(Cut cut, CaptureContext ctx) throws Exception {
    Map<String, String> a = cut.artefacts();
    String host = a.get(PullBackupCut.HOST);
    int port = Integer.parseInt(a.get(PullBackupCut.PORT));
    List<String> devs = new ArrayList<>();
    long bytes = 0;
    long start = System.nanoTime();
    for (DomainXml.Disk d : prepared.capturedDisks()) {
      String export = a.get(PullBackupCut.EXPORT + d.dev());
      if (export == null) {
        throw new UnavailableException(domain.where() + ": the backup job exports no disk " + d.dev());
      }
      String what = domain.where() + ": reading disk " + d.dev() + " from its backup export at " + host + ":" + port;
      try (NbdExport nbd = NbdExport.tcp(host, port, export, Optional.empty(), READ_TIMEOUT, what)) {
        Map<String, String> attrs = new TreeMap<>();
        attrs.put("dev", d.dev());
        attrs.put("path", d.source().orElseThrow().toString());
        attrs.put("format", d.format().orElse("raw"));
        attrs.put(BitmapTracking.VIEW, BitmapTracking.GUEST);
        bytes += copy(nbd, DomainDriver.DISKS + d.dev(), attrs, ctx);
      } catch (IOException e) {
        throw new UnavailableException(what + " failed: " + e.getMessage(), e);
      }
      devs.add(d.dev());
    }
    long nanos = Math.max(1, System.nanoTime() - start);
    ctx.state().attribute("disks", String.join(",", devs));
    // The memory after the disks: QEMU keeps the exports' scratch images growing while the guest runs; the memory
    // volume stays as it is.
    String memoryNote;
    String volume = a.get(PullBackupCut.MEMORY_VOLUME);
    if (volume != null) {
      memoryNote = storeMemory(volume, a.getOrDefault(PullBackupCut.MEMORY_MILLIS, "?"), ctx);
    } else {
      DomainTransfer.storeDefinition(domain, ctx);
      memoryNote = "the memory is not captured: a restore boots the guest from its disks as they were at the cut";
    }

    // The reads are the cut's only if libvirt still holds the job that serves them.
    domain.current().backupXml(prepared.uuid(), domain.member(), domain.where() + ": checking its backup job after "
        + "the transfer");
    ctx.note(String.format("disks read over NBD from a libvirt pull-mode backup on %s (%d bytes at %.1f MB/s); %s",
        host, bytes, bytes / (nanos / 1e9) / 1e6, memoryNote));
  }

  /**
   * Downloads the memory volume into the memory entry, its head (header and domain XML) rewritten without secrets
   * for the store, as a local capture stores a save image. Returns what the note says of it.
   */
  private String storeMemory(String volume, String millis, CaptureContext ctx) throws IOException {
    pool.refresh();
    long size = pool.size(volume);
    long start = System.nanoTime();
    long n;
    String what = domain.where() + ": downloading memory volume " + volume + " of pool '" + pool.name() + "'";
    try (RemotePool.Download in = pool.download(volume)) {
      ByteBuffer head = SaveImage.rewrittenHead(in, size, domain.where() + ": memory volume " + volume, xml -> {
        DomainXml x = DomainXml.parse(xml);
        x.removeSecrets();
        return x.xml();
      });
      n = StateFiles.capture(StateFiles.after(head, in), null, DomainDriver.MEMORY,
          Map.of("format", "libvirt-save-image"), DomainDriver.MEMORY_CHUNKING, ctx, () -> {});
    } catch (IOException e) {
      throw new UnavailableException(what + " failed: " + e.getMessage(), e);
    }
    if (n != size) {
      throw new UnavailableException(domain.where() + ": the download of memory volume " + volume + " ended after "
          + n + " of its " + size + " bytes");
    }
    double seconds = Math.max(1, System.nanoTime() - start) / 1e9;
    return String.format("memory saved by QEMU into volume %s of pool '%s' inside the pause (an external memory-only "
        + "snapshot, %s ms), downloaded through a libvirt stream (%d bytes at %.1f MB/s)", volume, pool.name(), millis,
        n, n / seconds / 1e6);
  }

  /** Every block of the export into the entry: a tracked copy with no parent to take blocks from. */
  private static long copy(NbdExport nbd, String entry, Map<String, String> attrs, CaptureContext ctx)
      throws IOException {
    return BitmapTracking.copy(nbd, nbd.size(), BitmapTracking.Parent.NONE, new BitSet(), entry, attrs, ctx, () -> {})
        .read();
  }
}
