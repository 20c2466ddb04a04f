package io.lencap.libvirt;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.LencapException;
import io.lencap.api.UnavailableException;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.libvirt.Domain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A restore onto a remote host (a locator with a host name), whose files this process never opens: every stored
 * disk and the memory image are uploaded into new volumes of the member's pool ({@link RemotePool}) through
 * libvirt streams ({@code virStorageVolUpload}), the memory image's own XML rewritten on the way ({@link
 * RestoredXml}: disks at those volumes' paths on that host, consoles kept or moved into the pool), then whatever
 * runs there is replaced and libvirt on that host restores the domain from the memory volume, paused. A disk stored
 * as the guest sees it (the NBD read of a remote capture) becomes a raw volume: no tool of this process can make a
 * qcow2 image on that host. Nothing of the source host is touched: a move restores onto the target connection only.
 *
 * <p>Volumes are named {@code DOMAIN-lencap-TAG-DEV.FORMAT} and {@code DOMAIN-lencap-TAG.mem}; the memory volume is
 * deleted once libvirt has read it, every volume if the restore fails, and the replaced domain's disk volumes when
 * they were an earlier restore's ({@code DOMAIN-lencap-*}), so repeated restores do not pile up.
 */
final class RemoteRestore {
  private static final Pattern DEV = Pattern.compile("[A-Za-z0-9_-]{1,32}");

  private final MemberDomain domain;
  private final LibvirtConnection conn;
  private final RemotePool pool;
  private static final Logger log = LoggerFactory.getLogger(RemoteRestore.class);

  RemoteRestore(MemberDomain domain, LibvirtConnection conn, RemotePool pool) {
    this.domain = domain;
    this.conn = conn;
    this.pool = pool;
  }

  /**
   * Uploads, rewrites and replaces; returns the state the domain was captured in ({@code shutoff} for a defined
   * one). {@code rewrite} turns stored XML into what this host starts, given the disk files and formats.
   */
  String restore(RestoreContext ctx, Optional<DomainXml> replaced, Domain existing, Rewrite rewrite) {
    StoredState s = ctx.state();
    String member = domain.member();
    String tag = MemberDomain.tag(ctx.checkpointId());
    String prefix = domain.name() + "-lencap-" + tag;
    List<String> created = new ArrayList<>();
    boolean done = false;
    long t0 = System.nanoTime();
    long sent = 0;
    try {
      Map<String, Path> finals = new LinkedHashMap<>();
      Map<String, String> formats = new TreeMap<>();
      for (StoredEntry e : s.entries()) {
        if (!e.path().startsWith(DomainDriver.DISKS)) {
          continue;
        }
        String dev = e.path().substring(DomainDriver.DISKS.length());
        boolean guestView = BitmapTracking.GUEST.equals(e.attributes().get(BitmapTracking.VIEW));
        String format = guestView ? "raw" : e.attribute("format").orElse("raw");
        if (!DEV.matcher(dev).matches() || !Set.of("raw", "qcow2").contains(format)) {
          throw new CorruptCheckpointException(ctx.checkpointId(), member, "stored disk '" + dev + "' ("
              + format + ") is not a guest device in a format Lencap restores");
        }
        String volume = prefix + "-" + dev + "." + format;
        pool.create(volume, e.size(), format);
        created.add(volume);
        try (InputStream in = s.open(e)) {
          sent += pool.upload(volume, Channels.newChannel(in), ctx::checkCancelled);
        }
        finals.put(dev, pool.path(volume));
        formats.put(dev, format);
      }
      UnaryOperator<String> xml = x -> rewrite.apply(x, finals, formats);
      Optional<StoredEntry> memory = s.entry(DomainDriver.MEMORY);
      String memoryVolume = prefix + ".mem";
      String definition = null;
      if (memory.isPresent()) {
        pool.create(memoryVolume, memory.get().size(), "raw");
        created.add(memoryVolume);
        try (InputStream in = s.open(memory.get())) {
          ReadableByteChannel ch = Channels.newChannel(in);
          ByteBuffer head = SaveImage.rewrittenHead(ch, memory.get().size(), "checkpoint " + ctx.checkpointId()
              + ", member " + member + ": the memory image", xml);
          sent += pool.upload(memoryVolume, StateFiles.after(head, ch), ctx::checkCancelled);
        }
      } else {
        StoredEntry def = s.entry(DomainDriver.DEFINITION).orElseThrow();
        try (InputStream in = s.open(def)) {
          definition = xml.apply(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      double seconds = Math.max(1, System.nanoTime() - t0) / 1e9;
      log.info("{}: {} bytes uploaded into storage pool '{}' through libvirt streams at {} MB/s", domain.where(), sent,
          pool.name(), String.format("%.1f", sent / seconds / 1e6));
      // Replace what runs there now: nothing is touched before this point.
      if (existing != null && conn.state(domain.call("reading its UUID", existing::getUUIDString), member,
          domain.where() + ": reading its state").active()) {
        domain.run("stopping it to restore over it", existing::destroy);
      }
      String state;
      if (memory.isPresent()) {
        conn.restoreImage(pool.path(memoryVolume), null, LibvirtNative.SAVE_PAUSED, member, domain.where()
            + ": restoring it from memory volume " + memoryVolume + " of storage pool '" + pool.name() + "'");
        state = s.attributes().getOrDefault("state", "running");
      } else {
        String def = definition;
        domain.run("defining it", () -> conn.domainDefineXML(def));
        state = "shutoff";
      }
      done = true;
      pool.delete(memoryVolume);
      removeReplacedVolumes(replaced, Set.copyOf(finals.values()));
      return state;
    } catch (IOException e) {
      throw new UnavailableException(domain.where() + ": uploading checkpoint " + ctx.checkpointId() + " into "
          + "storage pool '" + pool.name() + "' failed: " + e.getMessage(), e);
    } finally {
      if (!done) {
        for (String v : created) {
          try {
            pool.delete(v);
          } catch (RuntimeException ignored) {
            // the host may be gone: the next restore's names differ (the tag), and an operator sees the prefix
          }
        }
      }
    }
  }

  /** Deletes the disk volumes of the replaced domain that an earlier restore created and this one no longer uses. */
  private void removeReplacedVolumes(Optional<DomainXml> replaced, Set<Path> used) {
    if (replaced.isEmpty()) {
      return;
    }
    String own = domain.name() + "-lencap-";
    for (DomainXml.Disk d : replaced.get().disks()) {
      Optional<Path> p = d.source();
      if (p.isPresent() && !used.contains(p.get()) && pool.directory().equals(p.get().getParent())
          && p.get().getFileName().toString().startsWith(own)) {
        try {
          pool.delete(p.get().getFileName().toString());
        } catch (LencapException e) {
          log.warn("{}: could not delete volume {} of the replaced domain: {}", domain.where(), p.get().getFileName(),
              e.getMessage());
        }
      }
    }
  }

  /** Turns the stored XML into what the host starts, given the disks' new files and formats. */
  interface Rewrite {
    String apply(String storedXml, Map<String, Path> disks, Map<String, String> formats);
  }
}
