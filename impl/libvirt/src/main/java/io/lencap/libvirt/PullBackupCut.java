package io.lencap.libvirt;

import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/**
 * A running QEMU domain on a remote host (a locator with a host name), whose files Lencap cannot open: quiesce
 * suspends it; the cut, inside that pause, has QEMU save the memory into a volume of the member's pool on that host
 * (an external memory-only snapshot without metadata: {@code <memory snapshot='external'>} with every disk
 * {@code snapshot='no'}, which libvirt 9.0 with QEMU 7.2 takes in about 0.1 s for the 64 MiB counter guest; the
 * file is a save image, as {@code virDomainSave} writes), then starts a libvirt backup job in pull mode (QEMU
 * exports a point-in-time view of each captured disk over NBD on the host's address, writes after the cut going to
 * a scratch image beside the disk). The order is forced: libvirt runs one asynchronous job per domain, and the
 * backup job lasts until the release, so the snapshot comes first; the guest being paused, both are of the same
 * instant. Resume starts the guest again, the transfer downloads the memory volume through a libvirt stream and
 * reads the exports over TCP ({@link PullBackupTransfer}), and the release ends the job (libvirt deletes the
 * scratch images) and deletes the memory volume.
 */
final class PullBackupCut implements CutStrategy {
  static final String KIND = "PULL_BACKUP";
  /** The artefacts naming where the exports are: the NBD server's host and port, and each disk's export. */
  static final String HOST = "nbd.host";
  static final String PORT = "nbd.port";
  static final String EXPORT = "nbd.export.";
  /** The ports QEMU may listen on for the job: libvirt's own default range for backups (qemu.conf). */
  static final int FIRST_PORT = 10809;
  static final int LAST_PORT = 10872;
  /** The artefact naming the memory volume in the member's pool ({@code UUID-lencap-TAG.mem}). */
  static final String MEMORY_VOLUME = "memory.volume";
  /** How long QEMU took to save the memory, in milliseconds (for the note). */
  static final String MEMORY_MILLIS = "memory.millis";
  /** virDomainSnapshotCreateFlags VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA: libvirt keeps no snapshot object. */
  static final int SNAPSHOT_NO_METADATA = 1 << 2;
  private static final java.util.regex.Pattern TAG = java.util.regex.Pattern.compile("[A-Za-z0-9._-]+");

  private final MemberDomain domain;
  private final PreparedDomain prepared;

  private final RemotePool pool;

  PullBackupCut(MemberDomain domain, PreparedDomain prepared, RemotePool pool) {
    this.domain = domain;
    this.prepared = prepared;
    this.pool = pool;
  }

  /** The name of the memory volume of a cut of domain {@code uuid}. */
  static String memoryVolume(String uuid, String tag) {
    return uuid + "-lencap-" + tag + ".mem";
  }

  /** Whether {@code volume} is a memory volume a cut of domain {@code uuid} names (the journal is not trusted). */
  static boolean isMemoryVolume(String uuid, String volume) {
    String prefix = uuid + "-lencap-";
    return volume.startsWith(prefix) && volume.endsWith(".mem") && volume.length() > prefix.length() + 4
        && TAG.matcher(volume.substring(prefix.length(), volume.length() - 4)).matches();
  }

  /**
   * Ends a backup job of Lencap's (its scratch images named {@code .lencap-TAG.scratch}) that a capture could not
   * release (the host was unreachable then), and deletes memory volumes of this domain that such captures left.
   */
  void removeStale(CaptureContext ctx) {
    LibvirtConnection c = domain.connection();
    try {
      String job = c.backupXml(prepared.uuid(), domain.member(), domain.where() + ": looking for a backup job");
      if (job.contains(".lencap-") && job.contains(".scratch")) {
        endJob(domain, c, prepared.uuid());
        ctx.note("ended a backup job left by a capture whose release could not reach the host");
      }
    } catch (NotFoundException e) {
      // no job: the usual case
    }
    pool.refresh();
    for (String v : pool.volumes()) {
      if (isMemoryVolume(prepared.uuid(), v)) {
        pool.delete(v);
        ctx.note("deleted volume " + v + " of pool '" + pool.name() + "', left by an interrupted capture");
      }
    }
  }

  /** Whether a locator names a remote host: its files are not this process's to open. */
  static boolean isRemote(java.net.URI locator) {
    return locator.getHost() != null && !locator.getHost().isEmpty();
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String method() {
    return "paused-pull-backup";
  }

  RemotePool pool() {
    return pool;
  }

  @Override
  public String image() {
    return "snapshot";
  }

  @Override
  public boolean redirectsLuns() {
    return false;
  }

  @Override
  public void quiesce() {
    if (prepared.running()) {
      domain.run("suspending it", () -> domain.lookup().suspend());
    }
  }

  /**
   * Starts the job while the guest is paused. The port is the first of libvirt's backup range QEMU can listen on:
   * another job (another member on the same host) may hold one.
   */
  @Override
  public Cut cut(CaptureContext ctx, String tag, Map<String, String> artefacts) {
    String host = domain.resource().locator().getHost();
    LibvirtConnection conn = domain.connection();
    String memory = memoryVolume(prepared.uuid(), tag);
    long t0 = System.nanoTime();
    saveMemory(memory);
    artefacts.put(MEMORY_VOLUME, memory);
    artefacts.put(MEMORY_MILLIS, Long.toString((System.nanoTime() - t0) / 1_000_000));
    try {
      beginBackup(conn, host, tag);
    } catch (RuntimeException e) {
      try {
        pool.refresh();
        pool.delete(memory);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    Job job = job(conn.backupXml(prepared.uuid(), domain.member(), domain.where() + ": reading its backup job"));
    artefacts.put(HOST, host);
    artefacts.put(PORT, Integer.toString(job.port()));
    job.exports().forEach((dev, name) -> artefacts.put(EXPORT + dev, name));
    return new Cut(prepared.running(), artefacts);
  }

  /** Has QEMU write the memory into the pool's volume {@code volume}: a memory-only external snapshot. */
  private void saveMemory(String volume) {
    String xml = memoryXml(volume);
    org.libvirt.Domain d = domain.lookup();
    org.libvirt.DomainSnapshot s = domain.call("saving its memory into storage pool '" + pool.name() + "'",
        () -> d.snapshotCreateXML(xml, SNAPSHOT_NO_METADATA));
    try {
      s.free();
    } catch (org.libvirt.LibvirtException e) {
      // a handle without metadata: nothing is left to free
    }
  }

  /** The snapshot's XML: the memory into the volume's path on the host, no disk snapshotted. */
  String memoryXml(String volume) {
    StringBuilder x = new StringBuilder("<domainsnapshot><memory snapshot='external' file='")
        .append(escape(pool.path(volume).toString())).append("'/><disks>");
    for (DomainXml.Disk d : prepared.disks()) {
      x.append("<disk name='").append(escape(d.dev())).append("' snapshot='no'/>");
    }
    return x.append("</disks></domainsnapshot>").toString();
  }

  private void beginBackup(LibvirtConnection conn, String host, String tag) {
    String what = domain.where() + ": starting a pull-mode backup";
    LencapException last = null;
    for (int port = FIRST_PORT; port <= LAST_PORT; port++) {
      try {
        conn.beginBackup(prepared.uuid(), xml(host, port, tag), domain.member(), what);
        last = null;
        break;
      } catch (LencapException e) {
        last = e;
        if (!addressInUse(e)) {
          break;
        }
      }
    }
    if (last != null) {
      throw last;
    }
  }

  /** Whether QEMU could not listen on the port (its message, through libvirt): the next one is tried. */
  static boolean addressInUse(LencapException e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("in use") || m.contains("Failed to bind");
  }

  /** The job's XML: every captured disk exported, each with a scratch image beside its own file on that host. */
  String xml(String host, int port, String tag) {
    StringBuilder x = new StringBuilder("<domainbackup mode='pull'><server transport='tcp' name='")
        .append(escape(host)).append("' port='").append(port).append("'/><disks>");
    var captured = prepared.capturedDisks().stream().map(DomainXml.Disk::dev).toList();
    for (DomainXml.Disk d : prepared.disks()) {
      if (captured.contains(d.dev())) {
        String scratch = d.source().orElseThrow() + ".lencap-" + tag + ".scratch";
        x.append("<disk name='").append(escape(d.dev())).append("' backup='yes' type='file'><scratch file='")
            .append(escape(scratch)).append("'/></disk>");
      } else {
        x.append("<disk name='").append(escape(d.dev())).append("' backup='no'/>");
      }
    }
    return x.append("</disks></domainbackup>").toString();
  }

  @Override
  public void resume() throws InterruptedException {
    if (prepared.running()) {
      domain.resumeIfPaused();
    }
  }

  @Override
  public Optional<Path> memory(Cut cut) {
    return Optional.empty();
  }

  /**
   * Ends the backup job, if libvirt still has one for the domain; its scratch images go with it. Then deletes the
   * memory volume. Waits for a restarting libvirtd like any release. The artefacts may come from the journal: the
   * UUID is used only for this member's domain, and a volume only if its name is a memory volume of that UUID, in
   * the member's own pool.
   */
  static void release(MemberDomain domain, Map<String, String> artefacts) throws InterruptedException {
    LibvirtConnection c = domain.patiently();
    String uuid = new CutArtefacts(artefacts, domain.workDirectory(), domain.where()).uuid();
    String memory = artefacts.get(MEMORY_VOLUME);
    if (memory != null && !isMemoryVolume(uuid, memory)) {
      throw new LencapException(domain.where() + ": refusing to release a cut whose " + MEMORY_VOLUME + " is '"
          + memory + "': not a memory volume of domain " + uuid);
    }
    endJob(domain, c, uuid);
    if (memory != null) {
      RemotePool pool = RemotePool.of(domain, c, "resources[" + domain.member() + "].properties." + RemotePool.PROPERTY);
      pool.refresh();
      pool.delete(memory);
    }
  }

  private static void endJob(MemberDomain domain, LibvirtConnection c, String uuid) {
    Domain d = domain.ownDomain(c, uuid);
    if (d == null) {
      return; // the domain is gone, and its job with it
    }
    try {
      c.backupXml(uuid, domain.member(), domain.where() + ": looking for its backup job");
    } catch (NotFoundException e) {
      return;
    }
    try {
      domain.run("ending its backup job", d::abortJob);
    } catch (LencapException e) {
      if (LibvirtErrors.code(e) != ErrorNumber.VIR_ERR_OPERATION_INVALID) {
        throw e; // "no job is active": it ended meanwhile
      }
    }
  }

  /** Where a running job serves its exports. */
  record Job(int port, Map<String, String> exports) {}

  static Job job(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setExpandEntityReferences(false);
      Element root = f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))).getDocumentElement();
      Element server = DomainXml.child(root, "server");
      Element disks = DomainXml.child(root, "disks");
      if (server == null || disks == null || !"tcp".equals(server.getAttribute("transport"))) {
        throw new IllegalArgumentException("no TCP server or no disks");
      }
      Map<String, String> exports = new TreeMap<>();
      for (Element d : DomainXml.children(disks, "disk")) {
        if ("yes".equals(d.getAttribute("backup"))) {
          String name = d.getAttribute("exportname");
          exports.put(d.getAttribute("name"), name.isEmpty() ? d.getAttribute("name") : name);
        }
      }
      return new Job(Integer.parseInt(server.getAttribute("port")), exports);
    } catch (Exception e) {
      throw new LencapException("libvirt described the backup job in a way Lencap does not read: " + e.getMessage(), e);
    }
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
