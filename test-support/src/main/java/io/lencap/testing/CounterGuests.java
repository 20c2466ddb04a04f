package io.lencap.testing;

import io.lencap.api.Resource;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;
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
 * The tiny counter guests of {@code scripts/setup/guest.sh} (Debian's kernel and a busybox initramfs
 * that prints {@code COUNTER n} on its serial console every second and writes the same line into the
 * first sector of its disk), for tests, demos and benchmarks. Driven the way an operator would: the
 * domain XML comes from {@code guest.sh xml}, the domain is defined, started and removed with
 * {@code virsh} on {@code $LENCAP_LIBVIRT_URI} (default {@code qemu:///system}). Each guest's files
 * live in {@code ROOT/NAME}, where QEMU (user libvirt-qemu) can reach them.
 */
public final class CounterGuests {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");
  /** Building the guest image downloads a kernel and busybox the first time. */
  private static final Duration BUILD_LIMIT = Duration.ofMinutes(30);

  private final Path script;
  private final Path image;
  private final String uri;
  private final Path root;

  private CounterGuests(Path script, Path image, String uri, Path root) {
    this.script = script;
    this.image = image;
    this.uri = uri;
    this.root = root;
  }

  /**
   * Guests made with the scripts of the project the current directory is in (or under), their files in
   * {@code $LENCAP_GUEST_DIR/vms/NAME} as {@code guest.sh define} puts them ({@code LENCAP_GUEST_DIR}
   * defaults to {@code /var/lib/lencap/guest}).
   */
  public static CounterGuests inProject() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("scripts/setup/guest.sh"))) {
        return of(dir);
      }
    }
    throw new IllegalStateException("run from inside the Lencap project: scripts/setup/guest.sh not found");
  }

  /** Guests made with the scripts of the project at {@code projectRoot}. */
  public static CounterGuests of(Path projectRoot) {
    Path image = Path.of(System.getenv().getOrDefault("LENCAP_GUEST_DIR", "/var/lib/lencap/guest"));
    String uri = System.getenv().getOrDefault("LENCAP_LIBVIRT_URI", "qemu:///system");
    return new CounterGuests(projectRoot.resolve("scripts/setup/guest.sh"), image, uri, image.resolve("vms"));
  }

  /** The same guests with their files under {@code root} instead ({@code root/NAME}). */
  public CounterGuests filesUnder(Path root) {
    return new CounterGuests(script, image, uri, root.toAbsolutePath());
  }

  /** The libvirt connection the guests run on. */
  public String uri() {
    return uri;
  }

  /**
   * Why guests cannot run here, if they cannot: the guest image is not built, or libvirt does not answer.
   * Tests skip (or fail, when required) with this message.
   */
  public Optional<String> unavailable() throws InterruptedException {
    if (!Files.isReadable(image.resolve("vmlinuz")) || !Files.isReadable(image.resolve("initrd.img"))) {
      return Optional.of("the counter guest is not built in " + image + ": run scripts/setup/guest.sh");
    }
    try {
      virsh("uri");
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("libvirt does not answer at " + uri + " (" + e.getMessage() + "): run scripts/setup/libvirt.sh");
    }
  }

  /** The guest called {@code name}, as a handle on its files; nothing is defined or run. */
  public CounterGuest guest(String name) {
    return new CounterGuest(this, checkName(name), root.resolve(name));
  }

  /** The guest {@code name} as a group member whose id is its name. */
  public Resource resource(String name) {
    return guest(name).resource(name);
  }

  /** The directory of a guest's files, created if missing (a {@code restore.directory} for a moved guest). */
  public Path directory(String name) throws IOException {
    return Files.createDirectories(guest(name).directory());
  }

  /** Defines a fresh guest (any domain of that name and its files are removed first); not started. */
  public CounterGuest define(String name) throws IOException, InterruptedException {
    return define(name, 0);
  }

  /**
   * Defines a fresh guest; with {@code dataBytes > 0} it also gets a raw disk {@code vdb} of random bytes
   * (seeded by the name, {@link CounterGuest#data()}) that the guest never touches, so tests can change
   * and compare it.
   */
  public CounterGuest define(String name, int dataBytes) throws IOException, InterruptedException {
    return define(name, dataBytes, "raw");
  }

  /**
   * The same with the data disk {@code vdb} in {@code format}: {@code raw} ({@link CounterGuest#data()}) or
   * {@code qcow2} ({@link CounterGuest#dataImage()}, the same random bytes as the guest sees them), the format that
   * holds persistent dirty bitmaps.
   */
  public CounterGuest define(String name, int dataBytes, String format) throws IOException, InterruptedException {
    return define(name, dataBytes, dataBytes, format);
  }

  /**
   * The same with a data disk of {@code diskBytes} whose first {@code dataBytes} are random and the rest never
   * written (a sparse raw file; a qcow2 image allocates only the random part), for disks larger than an array.
   */
  public CounterGuest define(String name, long diskBytes, long dataBytes, String format)
      throws IOException, InterruptedException {
    if (!format.equals("raw") && !format.equals("qcow2")) {
      throw new IllegalArgumentException("format must be raw or qcow2, was " + format);
    }
    if (dataBytes < 0 || diskBytes < dataBytes) {
      throw new IllegalArgumentException("need 0 <= dataBytes <= diskBytes, were " + dataBytes + ", " + diskBytes);
    }
    CounterGuest g = prepare(name);
    HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", g.disk().toString(), "32M");
    if (diskBytes > 0) {
      writeRandom(g.data(), new Random(name.hashCode()), diskBytes, dataBytes);
      if (format.equals("qcow2")) {
        HostCommand.run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", g.data().toString(),
            g.dataImage().toString());
        Files.delete(g.data());
      }
    }
    Document xml = domainXml(g);
    if (diskBytes > 0) {
      Element vda = diskVda(xml);
      Element vdb = (Element) vda.cloneNode(true);
      ((Element) vdb.getElementsByTagName("driver").item(0)).setAttribute("type", format);
      ((Element) vdb.getElementsByTagName("source").item(0)).setAttribute("file",
          (format.equals("raw") ? g.data() : g.dataImage()).toString());
      ((Element) vdb.getElementsByTagName("target").item(0)).setAttribute("dev", "vdb");
      vda.getParentNode().insertBefore(vdb, vda.getNextSibling());
    }
    return defineDomain(g, xml);
  }

  /**
   * Defines a guest whose only disk {@code vda} is the iSCSI LUN {@code iscsi://host:port/iqn/lun},
   * reached through QEMU's own initiator ({@code qemu-block-extra}); {@link CounterGuest#disk()} does
   * not exist then.
   */
  public CounterGuest defineOnLun(String name, URI lun) throws IOException, InterruptedException {
    return defineOnLun(name, lun, "");
  }

  /** The same, with children for the disk's {@code <source>}: {@code <auth>} for a CHAP-protected LUN. */
  public CounterGuest defineOnLun(String name, URI lun, String sourceChildren) throws IOException, InterruptedException {
    if (!"iscsi".equals(lun.getScheme()) || lun.getHost() == null || lun.getPort() < 0 || lun.getPath() == null
        || lun.getPath().length() < 2) {
      throw new IllegalArgumentException("lun must be iscsi://host:port/iqn/lun, was " + lun);
    }
    CounterGuest g = prepare(name);
    Document xml = domainXml(g);
    Element vda = diskVda(xml);
    vda.setAttribute("type", "network");
    ((Element) vda.getElementsByTagName("driver").item(0)).setAttribute("type", "raw");
    Element source = (Element) vda.getElementsByTagName("source").item(0);
    source.removeAttribute("file");
    source.setAttribute("protocol", "iscsi");
    source.setAttribute("name", lun.getPath().substring(1));
    Element host = xml.createElement("host");
    host.setAttribute("name", lun.getHost());
    host.setAttribute("port", Integer.toString(lun.getPort()));
    source.appendChild(host);
    NodeList children = parse("<source>" + sourceChildren + "</source>").getDocumentElement().getChildNodes();
    for (int i = 0; i < children.getLength(); i++) {
      source.appendChild(xml.importNode(children.item(i), true));
    }
    return defineDomain(g, xml);
  }

  /** Defines and starts a fresh guest; returns at once (see {@link #boot}). */
  public CounterGuest start(String name) throws IOException, InterruptedException {
    CounterGuest g = define(name);
    g.start();
    return g;
  }

  /** Defines and starts a fresh guest; returns once it printed its first counter (within 2 minutes). */
  public CounterGuest boot(String name) throws Exception {
    CounterGuest g = start(name);
    g.awaitCounter(n -> true, Duration.ofMinutes(2));
    return g;
  }

  /**
   * Destroys and undefines the domain {@code name} (with its snapshot and checkpoint metadata) and
   * deletes its directory; nothing if neither exists.
   *
   * @throws IOException when the domain is still defined afterwards, with what virsh said
   */
  public void remove(String name) throws IOException, InterruptedException {
    CounterGuest g = guest(name);
    if (defined(name)) {
      tolerate(() -> virsh("destroy", name)); // not running: nothing to destroy
      tolerate(() -> virsh("undefine", name, "--snapshots-metadata", "--checkpoints-metadata")); // transient
      if (defined(name)) {
        throw new IOException("domain " + name + " is still defined on " + uri + " after destroy and undefine");
      }
    }
    deleteTree(g.directory());
  }

  String virsh(String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 4];
    command[0] = "virsh";
    command[1] = "-q";
    command[2] = "-c";
    command[3] = uri;
    System.arraycopy(args, 0, command, 4, args.length);
    return HostCommand.run(command);
  }

  private boolean defined(String name) throws IOException, InterruptedException {
    return List.of(virsh("list", "--all", "--name").split("\n")).stream().map(String::trim).anyMatch(name::equals);
  }

  private interface Step {
    void run() throws IOException, InterruptedException;
  }

  private static void tolerate(Step step) throws InterruptedException {
    try {
      step.run();
    } catch (IOException e) {
      // judged by the check that follows
    }
  }

  /** Removes what is left of an earlier guest of that name and makes its directory and console. */
  private CounterGuest prepare(String name) throws IOException, InterruptedException {
    CounterGuest g = guest(name);
    requireImage();
    remove(name);
    Files.createDirectories(g.directory());
    Files.createFile(g.console());
    return g;
  }

  /** {@code data} random bytes (in the order one {@code nextBytes} call gives them), then a hole up to {@code size}. */
  private static void writeRandom(Path file, Random random, long size, long data) throws IOException {
    try (var ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      byte[] b = new byte[16 << 20]; // a multiple of 4: the pieces continue one nextBytes sequence
      for (long done = 0; done < data; ) {
        int n = (int) Math.min(b.length, data - done);
        byte[] piece = n == b.length ? b : new byte[n];
        random.nextBytes(piece);
        done += ch.write(ByteBuffer.wrap(piece), done);
      }
      ch.truncate(size);
      if (ch.size() < size) {
        ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
      }
    }
  }

  /** Builds the guest image when it is missing, as {@code guest.sh define} does. */
  private void requireImage() throws IOException, InterruptedException {
    if (!Files.isReadable(image.resolve("vmlinuz")) || !Files.isReadable(image.resolve("initrd.img"))) {
      HostCommand.run(BUILD_LIMIT, "bash", script.toString(), "build");
    }
  }

  private CounterGuest defineDomain(CounterGuest g, Document xml) throws IOException, InterruptedException {
    Path file = g.directory().resolve("domain.xml");
    Files.writeString(file, serialize(xml));
    // QEMU runs as libvirt-qemu: it writes the console and the overlays created next to the disk.
    HostCommand.run("chown", "-R", "libvirt-qemu:libvirt-qemu", g.directory().toString());
    virsh("define", file.toString());
    return g;
  }

  /** The domain XML of {@code guest.sh xml}: one definition of the guest for scripts and Java. */
  private Document domainXml(CounterGuest g) throws IOException, InterruptedException {
    return parse(HostCommand.run("env", "LENCAP_GUEST_DIR=" + image, "bash", script.toString(), "xml", g.name(),
        g.disk().toString(), g.console().toString()));
  }

  private static Element diskVda(Document xml) throws IOException {
    NodeList disks = xml.getElementsByTagName("disk");
    for (int i = 0; i < disks.getLength(); i++) {
      Element disk = (Element) disks.item(i);
      NodeList targets = disk.getElementsByTagName("target");
      if (targets.getLength() > 0 && "vda".equals(((Element) targets.item(0)).getAttribute("dev"))) {
        return disk;
      }
    }
    throw new IOException("guest.sh xml gave no disk vda");
  }

  private static Document parse(String xml) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    } catch (Exception e) {
      throw new IOException("not well-formed domain XML: " + e.getMessage(), e);
    }
  }

  private static String serialize(Node xml) throws IOException {
    try {
      StringWriter out = new StringWriter();
      var t = TransformerFactory.newInstance().newTransformer();
      t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      t.transform(new DOMSource(xml), new StreamResult(out));
      return out.toString();
    } catch (Exception e) {
      throw new IOException("cannot write domain XML: " + e.getMessage(), e);
    }
  }

  private static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("name must match [A-Za-z0-9_.-]+ (a libvirt domain and a directory), was "
          + name);
    }
    return name;
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }
}
