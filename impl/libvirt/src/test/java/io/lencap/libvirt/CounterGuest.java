package io.lencap.libvirt;

import static org.junit.jupiter.api.Assertions.fail;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * The tiny counter guest of {@code scripts/setup/guest.sh} as a test fixture on {@code qemu:///system}:
 * Debian's kernel and a busybox initramfs that prints {@code COUNTER n} on its serial console (a file)
 * every second and writes the same line into the first sector of its disk. Files live under
 * {@code /var/lib/lencap/it/NAME}, where QEMU (user libvirt-qemu) can reach them.
 */
final class CounterGuest implements AutoCloseable {
  static final String URI = "qemu:///system";
  static final Path GUEST = Path.of(System.getenv().getOrDefault("LENCAP_GUEST_DIR", "/var/lib/lencap/guest"));
  static final Path ROOT = Path.of("/var/lib/lencap/it");
  private static final Pattern COUNTER = Pattern.compile("^COUNTER (\\d+)\\s*$", Pattern.MULTILINE);
  private static Connect connection;

  final String name;
  final Path dir;
  final Path disk;
  final Path console;

  private CounterGuest(String name) {
    this.name = name;
    this.dir = ROOT.resolve(name);
    this.disk = dir.resolve("disk.qcow2");
    this.console = dir.resolve("console.log");
  }

  /**
   * Skips the test when libvirt + QEMU or the guest image are missing, or fails it when the system
   * property {@code lencap.it.require} is true (the project's test script sets it).
   */
  static synchronized Connect requireQemu() {
    String missing = null;
    if (!Files.isReadable(GUEST.resolve("vmlinuz")) || !Files.isReadable(GUEST.resolve("initrd.img"))) {
      missing = "the counter guest is not built in " + GUEST + ": run scripts/setup/guest.sh";
    } else {
      try {
        if (connection != null && !alive(connection)) {
          connection = null; // libvirtd restarted (fault tests): open a new one
        }
        if (connection == null) {
          EventLoop.ensureStarted();
          connection = new Connect(URI);
        }
      } catch (LibvirtException e) {
        missing = "libvirt does not answer at " + URI + " (" + e.getMessage() + "): run scripts/setup/libvirt.sh";
      }
    }
    if (missing != null) {
      if (Boolean.getBoolean("lencap.it.require")) {
        fail(missing);
      }
      Assumptions.abort(missing);
    }
    return connection;
  }

  private static boolean alive(Connect c) {
    try {
      return c.isAlive();
    } catch (LibvirtException | RuntimeException e) {
      return false;
    }
  }

  static Connect connection() {
    return requireQemu();
  }

  /** Defines and boots a fresh guest; returns once it printed its first counter. */
  static CounterGuest boot(String name) throws Exception {
    CounterGuest g = define(name);
    g.domain().create();
    g.awaitCounter(n -> true, Duration.ofSeconds(120));
    return g;
  }

  static CounterGuest define(String name) throws Exception {
    return define(name, 0);
  }

  /**
   * Defines a guest; with {@code dataBytes > 0} it also gets a raw disk {@code vdb} of random bytes
   * ({@link #data}) that the guest never touches, so tests can change and compare it.
   */
  static CounterGuest define(String name, int dataBytes) throws Exception {
    Connect c = requireQemu();
    CounterGuest g = new CounterGuest(name);
    g.removeDomain();
    deleteTree(g.dir);
    Files.createDirectories(g.dir);
    run("qemu-img", "create", "-q", "-f", "qcow2", g.disk.toString(), "32M");
    Files.createFile(g.console);
    String extra = "";
    if (dataBytes > 0) {
      byte[] b = new byte[dataBytes];
      new java.util.Random(name.hashCode()).nextBytes(b);
      Files.write(g.data(), b);
      extra = "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='"
          + g.data() + "'/><target dev='vdb' bus='virtio'/></disk>";
    }
    run("chown", "-R", "libvirt-qemu:libvirt-qemu", g.dir.toString());
    c.domainDefineXML(xml(name, g.disk, g.console).replace("</disk>", "</disk>" + extra));
    return g;
  }

  /**
   * Defines a guest whose only disk {@code vda} is the iSCSI LUN {@code iscsi://host:port/iqn/lun}, reached
   * through QEMU's own initiator ({@code qemu-block-extra}); {@link #disk} does not exist then.
   */
  static CounterGuest defineOnLun(String name, URI lun) throws Exception {
    return defineOnLun(name, lun, "");
  }

  /** The same, with children for the {@code <source>} element: {@code <auth>} for a CHAP-protected LUN. */
  static CounterGuest defineOnLun(String name, URI lun, String sourceChildren) throws Exception {
    Connect c = requireQemu();
    CounterGuest g = new CounterGuest(name);
    g.removeDomain();
    deleteTree(g.dir);
    Files.createDirectories(g.dir);
    Files.createFile(g.console);
    run("chown", "-R", "libvirt-qemu:libvirt-qemu", g.dir.toString());
    String fileDisk = "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
        + "<source file='" + g.disk + "'/><target dev='vda' bus='virtio'/></disk>";
    String lunDisk = "<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
        + "<source protocol='iscsi' name='" + lun.getPath().substring(1) + "'><host name='" + lun.getHost()
        + "' port='" + lun.getPort() + "'/>" + sourceChildren + "</source><target dev='vda' bus='virtio'/></disk>";
    String xml = xml(name, g.disk, g.console);
    if (!xml.contains(fileDisk)) {
      throw new IllegalStateException("the guest XML no longer has the expected disk element");
    }
    c.domainDefineXML(xml.replace(fileDisk, lunDisk));
    return g;
  }

  /** The data disk of {@link #define(String, int)}. */
  Path data() {
    return dir.resolve("data.raw");
  }

  /** The same domain XML as {@code guest.sh define}. */
  static String xml(String name, Path disk, Path console) {
    return "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
        + "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>" + GUEST.resolve("vmlinuz") + "</kernel>"
        + "<initrd>" + GUEST.resolve("initrd.img") + "</initrd><cmdline>console=ttyS0 panic=-1 quiet loglevel=3"
        + "</cmdline></os><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy"
        + "</on_crash><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
        + "<source file='" + disk + "'/><target dev='vda' bus='virtio'/></disk>"
        + "<serial type='file'><source path='" + console + "' append='on'/><target port='0'/></serial>"
        + "<console type='file'><source path='" + console + "' append='on'/><target type='serial' port='0'/>"
        + "</console><memballoon model='none'/></devices></domain>";
  }

  Resource resource(String id) {
    return Resource.builder(id).type(ResourceType.VIRTUAL_MACHINE).locator(URI).property("domain", name).build();
  }

  Domain domain() throws LibvirtException {
    return connection().domainLookupByName(name);
  }

  /** The counters printed on the console so far, in order. */
  List<Integer> counters() throws IOException {
    return counters(console);
  }

  static List<Integer> counters(Path console) throws IOException {
    List<Integer> out = new ArrayList<>();
    Matcher m = COUNTER.matcher(Files.readString(console, StandardCharsets.ISO_8859_1).replace("\r", ""));
    while (m.find()) {
      out.add(Integer.parseInt(m.group(1)));
    }
    return out;
  }

  /** How many cold boots the console shows. */
  long boots() throws IOException {
    return Files.readString(console, StandardCharsets.ISO_8859_1).lines().filter(l -> l.startsWith("LENCAP-GUEST BOOT"))
        .count();
  }

  int lastCounter() throws IOException {
    List<Integer> c = counters();
    if (c.isEmpty()) {
      throw new AssertionError(name + " printed no counter yet");
    }
    return c.get(c.size() - 1);
  }

  /** Waits until the console shows a counter accepted by the predicate, after the first {@code skip} counters. */
  int awaitCounter(IntPredicate accept, Duration limit) throws Exception {
    return awaitCounter(console, 0, accept, limit);
  }

  static int awaitCounter(Path console, int skip, IntPredicate accept, Duration limit) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      List<Integer> c = counters(console);
      for (int i = skip; i < c.size(); i++) {
        if (accept.test(c.get(i))) {
          return c.get(i);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no matching counter on " + console + " within " + limit + "; last: "
            + (c.isEmpty() ? "none" : c.get(c.size() - 1)));
      }
      TimeUnit.MILLISECONDS.sleep(100); // polling the console file the guest appends to
    }
  }

  /** The counter in the first sector of a qcow2 disk image, read without taking QEMU's lock. */
  static OptionalInt diskCounter(Path image) throws Exception {
    Path out = Files.createTempFile("sector0", ".raw");
    try {
      run("qemu-img", "dd", "-U", "-f", "qcow2", "-O", "raw", "bs=512", "count=1", "if=" + image, "of=" + out);
      Matcher m = COUNTER.matcher(new String(Files.readAllBytes(out), StandardCharsets.ISO_8859_1).replace("\0", ""));
      return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    } finally {
      Files.deleteIfExists(out);
    }
  }

  int diskCounter() throws Exception {
    return diskCounter(disk).orElseThrow(() -> new AssertionError(name + ": no counter on " + disk));
  }

  /** The source of disk vda as libvirt sees it now. */
  String diskSource() throws LibvirtException {
    return DomainXml.parse(domain().getXMLDesc(0)).disks().get(0).source().orElseThrow().toString();
  }

  static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
  }

  /** Destroys and undefines the domain (any name) and deletes its files. */
  static void remove(String name) {
    new CounterGuest(name).close();
  }

  private void removeDomain() {
    try {
      Domain d = connection().domainLookupByName(name);
      if (d.isActive() == 1) {
        d.destroy();
      }
      if (d.isPersistent() == 1) {
        d.undefine(Domain.UndefineFlags.SNAPSHOTS_METADATA | 16 /* CHECKPOINTS_METADATA, missing in 0.5.4 */);
      }
    } catch (LibvirtException e) {
      // not defined
    }
  }

  @Override
  public void close() {
    removeDomain();
    try {
      deleteTree(dir);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static void deleteTree(Path p) throws IOException {
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
