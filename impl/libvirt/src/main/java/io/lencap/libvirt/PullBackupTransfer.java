package io.lencap.libvirt;

import io.lencap.api.UnavailableException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Stores a {@link PullBackupCut}: the domain's definition, then each captured disk read over TCP from the backup
 * job's NBD export, as the guest sees it ({@code view=guest}). No byte goes through a path this process opens.
 * The job must still be libvirt's when the reads are done: an export read after libvirt lost its job (its daemon
 * died or restarted) is not proven to be the cut's, so the transfer fails and nothing is committed.
 */
final class PullBackupTransfer {
  private static final int BLOCK = Chunking.DEFAULT_BLOCK_SIZE;

  private final MemberDomain domain;
  private final PreparedDomain prepared;

  PullBackupTransfer(MemberDomain domain, PreparedDomain prepared) {
    this.domain = domain;
    this.prepared = prepared;
  }

  void transfer(Cut cut, CaptureContext ctx) throws Exception {
    Map<String, String> a = cut.artefacts();
    String host = a.get(PullBackupCut.HOST);
    int port = Integer.parseInt(a.get(PullBackupCut.PORT));
    DomainTransfer.storeDefinition(domain, ctx);
    List<String> devs = new ArrayList<>();
    long bytes = 0;
    long start = System.nanoTime();
    for (DomainXml.Disk d : prepared.capturedDisks()) {
      String export = a.get(PullBackupCut.EXPORT + d.dev());
      if (export == null) {
        throw new UnavailableException(domain.where() + ": the backup job exports no disk " + d.dev());
      }
      String what = domain.where() + ": reading disk " + d.dev() + " from its backup export at " + host + ":" + port;
      try (NbdExport nbd = NbdExport.tcp(host, port, export, Optional.empty(), what)) {
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
    // The reads are the cut's only if libvirt still holds the job that serves them.
    domain.current().backupXml(prepared.uuid(), domain.member(), domain.where() + ": checking its backup job after "
        + "the transfer");
    ctx.note(String.format("disks only, read over NBD from a libvirt pull-mode backup on %s (%d bytes at %.1f MB/s); "
        + "the memory is not captured: a restore boots the guest from its disks as they were at the cut", host, bytes,
        bytes / (nanos / 1e9) / 1e6));
  }

  private static long copy(NbdExport nbd, String entry, Map<String, String> attrs, CaptureContext ctx)
      throws IOException {
    long size = nbd.size();
    EntryWriter out = ctx.state().create(entry, EntryKind.FILE, attrs, Chunking.blocks());
    boolean written = false;
    try {
      ByteBuffer buf = ByteBuffer.allocateDirect(BLOCK);
      for (long off = 0; off < size; off += BLOCK) {
        ctx.checkCancelled();
        buf.clear().limit((int) Math.min(BLOCK, size - off));
        nbd.read(buf, off);
        buf.flip();
        out.write(buf);
      }
      written = true;
    } finally {
      if (written) {
        out.close();
      } else {
        try {
          out.close();
        } catch (IOException | RuntimeException ignored) {
          // the copy already failed and is propagating
        }
      }
    }
    return size;
  }
}
