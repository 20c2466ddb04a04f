package io.lencap.libvirt;

import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * A libvirt domain XML document: reads its disks and rewrites what a restore elsewhere changes (disk
 * sources, name, UUID, file-backed consoles). What a {@code <disk>} element holds is {@link DiskElements}'s; this
 * class finds the elements. May hold secrets (VNC passwords): never log it.
 */
final class DomainXml {
  private final Document doc;

  private DomainXml(Document doc) {
    this.doc = doc;
  }

  static DomainXml parse(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setExpandEntityReferences(false);
      f.setNamespaceAware(true); // QEMU's namespace is found by its URI, whatever prefix names it
      return new DomainXml(f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))));
    } catch (Exception e) {
      throw new IllegalArgumentException("not a libvirt domain XML document: " + e.getMessage(), e);
    }
  }

  /**
   * One disk of the domain.
   *
   * @param dev the guest device name ({@code vda}), unique in a domain
   * @param type file, block, network, volume
   * @param device disk, cdrom, floppy, lun
   * @param source the host path of a file or block disk, if any
   * @param format the image format (qcow2, raw), if declared
   * @param readOnly whether the guest cannot write it
   * @param backing the file behind the source, when the live XML shows a backing chain
   * @param lun the {@code iscsi://host:port/iqn/lun} of a network disk QEMU reaches through its own iSCSI
   *     initiator, if this is one
   * @param backingLun the same for a LUN behind the source (an overlay over a LUN)
   * @param shareable whether the disk is declared shared with other domains ({@code <shareable/>})
   */
  record Disk(String dev, String type, String device, Optional<Path> source, Optional<String> format,
      boolean readOnly, Optional<Path> backing, Optional<URI> lun, Optional<URI> backingLun, boolean shareable) {
    /** Whether a snapshot should give this disk an overlay: a writable disk backed by a local file or device. */
    boolean writableLocal() {
      return !readOnly && source.isPresent() && (type.equals("file") || type.equals("block"));
    }

    /** Whether a snapshot should redirect this disk's writes to a local overlay: a writable iSCSI LUN. */
    boolean writableLun() {
      return !readOnly && lun.isPresent();
    }

    /**
     * Whether the guest writes this disk as its own: neither read-only (CD-ROMs are) nor shareable. The state of
     * such a disk belongs with the memory image: a restore that pairs them across times tears the guest.
     */
    boolean writer() {
      return !readOnly && !shareable;
    }
  }

  /** The disks the document declares, in its order ({@link DiskElements} reads each). */
  List<Disk> disks() {
    List<Disk> out = new ArrayList<>();
    for (Element d : diskElements()) {
      DiskElements.read(d).ifPresent(out::add);
    }
    return out;
  }

  String name() {
    Element n = child(doc.getDocumentElement(), "name");
    return n == null ? "" : n.getTextContent().trim();
  }

  /** Points each named disk ({@code dev -> path}) at a new file, dropping any backing chain shown. */
  /** Sets the image format ({@code <driver type>}) of the disks named. */
  DomainXml withDiskFormats(Map<String, String> formats) {
    for (Element d : diskElements()) {
      String dev = DiskElements.dev(d);
      Element driver = DomainXml.child(d, "driver");
      if (dev != null && formats.containsKey(dev) && driver != null) {
        driver.setAttribute("type", formats.get(dev));
      }
    }
    return this;
  }

  DomainXml withDiskSources(Map<String, Path> sources) {
    for (Element d : diskElements()) {
      String dev = DiskElements.dev(d);
      if (dev != null && sources.containsKey(dev)) {
        DiskElements.pointAtFile(d, sources.get(dev));
      }
    }
    return this;
  }

  /**
   * Points disk {@code dev} at the iSCSI LUN {@code iscsi://host:port/iqn/lun}, dropping any backing chain. The
   * new source copies the LUN source the disk has, or the one its overlay sits on (libvirt keeps it in the
   * backingStore), so its CHAP {@code <auth>}, {@code <initiator>} and other children survive; only the
   * target name and the host change.
   */
  DomainXml withLunSource(String dev, URI lun) {
    return withLunSource(dev, lun, Optional.empty());
  }

  /**
   * CHAP credentials a disk logs in to its LUN with: the user and the usage id of the libvirt iSCSI secret holding
   * the password (never the password itself).
   */
  record LunAuth(String user, String secretUsage) {}

  /**
   * The same, and when {@code auth} is given the disk logs in with it instead of the auth it had: any old
   * {@code <auth>}, on the disk or its source, is replaced by one inside the source (libvirt refuses both).
   */
  DomainXml withLunSource(String dev, URI lun, Optional<LunAuth> auth) {
    for (Element d : diskElements()) {
      if (dev.equals(DiskElements.dev(d))) {
        DiskElements.pointAtLun(d, lun, auth);
      }
    }
    return this;
  }

  /**
   * How QEMU reaches an iSCSI LUN, as a domain XML names it: the locator, the CHAP user and the libvirt secret
   * (by UUID or by usage) holding its password, and the initiator name to log in with. Holds no secret value.
   */
  record LunAccess(URI lun, Optional<String> user, Optional<String> secretUuid, Optional<String> secretUsage,
      Optional<String> initiator) {
    static LunAccess of(URI lun) {
      return new LunAccess(lun, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }
  }

  /** The LUN disk {@code dev} uses: the one behind its overlay (backingStore) if it has one, else its own source. */
  Optional<LunAccess> lunAccess(String dev) {
    for (Element d : diskElements()) {
      if (dev.equals(DiskElements.dev(d))) {
        return DiskElements.lunAccess(d);
      }
    }
    return Optional.empty();
  }

  DomainXml withName(String name) {
    Element n = child(doc.getDocumentElement(), "name");
    if (n == null) {
      n = doc.createElement("name");
      doc.getDocumentElement().insertBefore(n, doc.getDocumentElement().getFirstChild());
    }
    n.setTextContent(name);
    return this;
  }

  /** Sets the UUID, or removes it (libvirt then makes a new one) when empty. */
  DomainXml withUuid(Optional<String> uuid) {
    Element u = child(doc.getDocumentElement(), "uuid");
    if (uuid.isEmpty()) {
      if (u != null) {
        doc.getDocumentElement().removeChild(u);
      }
      return this;
    }
    if (u == null) {
      u = doc.createElement("uuid");
      doc.getDocumentElement().appendChild(u);
    }
    u.setTextContent(uuid.get());
    return this;
  }

  /** Rewrites the paths of file-backed serial ports and consoles (a copy must not append to the original's log). */
  DomainXml withCharacterFiles(UnaryOperator<Path> relocate) {
    Element devices = child(doc.getDocumentElement(), "devices");
    if (devices == null) {
      return this;
    }
    for (String kind : List.of("serial", "console", "parallel", "channel")) {
      for (Element c : children(devices, kind)) {
        Element source = child(c, "source");
        if (c.getAttribute("type").equals("file") && source != null && !source.getAttribute("path").isEmpty()) {
          source.setAttribute("path", relocate.apply(Path.of(source.getAttribute("path"))).toString());
        }
      }
      for (Element c : children(devices, kind)) {
        Element log = child(c, "log");
        if (log != null && !log.getAttribute("file").isEmpty()) {
          log.setAttribute("file", relocate.apply(Path.of(log.getAttribute("file"))).toString());
        }
      }
    }
    return this;
  }

  /**
   * Removes what libvirt formats only with {@code VIR_DOMAIN_XML_SECURE}: graphics passwords and the cookies of
   * network disk sources. Returns the graphics types (vnc, spice) that had a password.
   */
  List<String> removeSecrets() {
    List<String> had = new ArrayList<>();
    Element devices = child(doc.getDocumentElement(), "devices");
    if (devices == null) {
      return had;
    }
    for (Element g : children(devices, "graphics")) {
      if (g.hasAttribute("passwd")) {
        had.add(g.getAttribute("type"));
        g.removeAttribute("passwd");
      }
    }
    for (Element d : diskElements()) {
      Element source = child(d, "source");
      if (source != null) {
        children(source, "cookies").forEach(source::removeChild);
      }
    }
    return had;
  }

  /** The password of each graphics device that has one, by type; only in XML read with the secure flag. */
  Map<String, String> graphicsPasswords() {
    Map<String, String> out = new java.util.TreeMap<>();
    for (Element g : graphics()) {
      if (g.hasAttribute("passwd")) {
        out.putIfAbsent(g.getAttribute("type"), g.getAttribute("passwd"));
      }
    }
    return out;
  }

  /** Sets the password of each graphics device whose type {@code byType} answers for (null: left as it is). */
  DomainXml withGraphicsPasswords(java.util.function.Function<String, String> byType) {
    for (Element g : graphics()) {
      String p = byType.apply(g.getAttribute("type"));
      if (p != null) {
        g.setAttribute("passwd", p);
      }
    }
    return this;
  }

  /** The graphics types (vnc, spice, ...) the domain has. */
  List<String> graphicsTypes() {
    return graphics().stream().map(g -> g.getAttribute("type")).toList();
  }

  private List<Element> graphics() {
    Element devices = child(doc.getDocumentElement(), "devices");
    return devices == null ? List.of() : children(devices, "graphics");
  }

  /** The executable libvirt starts for this domain ({@code <emulator>}), if named. */
  Optional<String> emulator() {
    Element devices = child(doc.getDocumentElement(), "devices");
    Element e = devices == null ? null : child(devices, "emulator");
    return e == null || e.getTextContent().isBlank() ? Optional.empty() : Optional.of(e.getTextContent().trim());
  }

  /** Names the emulator, or removes the element (libvirt then takes the host's default for the machine). */
  DomainXml withEmulator(Optional<String> emulator) {
    Element devices = child(doc.getDocumentElement(), "devices");
    if (devices == null) {
      return this;
    }
    children(devices, "emulator").forEach(devices::removeChild);
    if (emulator.isPresent()) {
      Element e = doc.createElement("emulator");
      e.setTextContent(emulator.get());
      devices.insertBefore(e, devices.getFirstChild());
    }
    return this;
  }

  /** The host files that file-backed serial ports, consoles, parallel ports and channels write (and their logs). */
  java.util.Set<Path> characterFiles() {
    java.util.Set<Path> out = new java.util.LinkedHashSet<>();
    withCharacterFiles(p -> {
      out.add(p);
      return p;
    });
    return out;
  }

  /** The root element, for checks that walk the whole document ({@link HostPassthrough}). */
  Element root() {
    return doc.getDocumentElement();
  }

  /** The document as text, for libvirt only (it may hold secrets). */
  String xml() {
    try {
      var t = TransformerFactory.newInstance().newTransformer();
      t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      StringWriter w = new StringWriter();
      t.transform(new DOMSource(doc), new StreamResult(w));
      return w.toString();
    } catch (Exception e) {
      throw new IllegalStateException("cannot write domain XML", e);
    }
  }

  @Override
  public String toString() {
    return "DomainXml{" + name() + "}";
  }

  private List<Element> diskElements() {
    Element devices = child(doc.getDocumentElement(), "devices");
    return devices == null ? List.of() : children(devices, "disk");
  }

  static Element child(Element parent, String name) {
    List<Element> c = children(parent, name);
    return c.isEmpty() ? null : c.get(0);
  }

  static List<Element> children(Element parent, String name) {
    List<Element> out = new ArrayList<>();
    NodeList nodes = parent.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      Node n = nodes.item(i);
      if (n instanceof Element e && e.getTagName().equals(name)) {
        out.add(e);
      }
    }
    return out;
  }
}
