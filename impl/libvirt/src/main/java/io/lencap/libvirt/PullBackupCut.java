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
 * suspends it, the cut starts a libvirt backup job in pull mode (QEMU exports a point-in-time view of each captured
 * disk over NBD on the remote host's address, writes after the cut going to a scratch image beside the disk),
 * resume starts the guest again, the transfer reads the exports over TCP ({@link PullBackupTransfer}) and the
 * release ends the job, which deletes the scratch images. Disks only: the memory stays out of the checkpoint, so a
 * restore boots the guest from its disks as they were at the cut (said in the member's notes).
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

  private final MemberDomain domain;
  private final PreparedDomain prepared;

  PullBackupCut(MemberDomain domain, PreparedDomain prepared) {
    this.domain = domain;
    this.prepared = prepared;
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

  @Override
  public String image() {
    return "none";
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
    Job job = job(conn.backupXml(prepared.uuid(), domain.member(), domain.where() + ": reading its backup job"));
    artefacts.put(HOST, host);
    artefacts.put(PORT, Integer.toString(job.port()));
    job.exports().forEach((dev, name) -> artefacts.put(EXPORT + dev, name));
    return new Cut(prepared.running(), artefacts);
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
   * Ends the backup job, if libvirt still has one for the domain; its scratch images go with it. Waits for a
   * restarting libvirtd like any release. The artefacts may come from the journal: only the UUID is used, and only
   * for this member's domain.
   */
  static void release(MemberDomain domain, Map<String, String> artefacts) throws InterruptedException {
    LibvirtConnection c = domain.patiently();
    Domain d = domain.ownDomain(c, new CutArtefacts(artefacts, domain.workDirectory(), domain.where()).uuid());
    if (d == null) {
      return; // the domain is gone, and its job with it
    }
    String uuid = domain.call("reading its UUID", d::getUUIDString);
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
