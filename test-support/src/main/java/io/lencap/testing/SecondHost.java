package io.lencap.testing;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Host B of {@code scripts/setup/hostb.sh}: a second libvirtd on this machine, in network and mount namespaces
 * of its own, reachable only at {@value #URI}. Its files live where this JVM cannot see them; its counter
 * guests keep their disk and console as volumes of its storage pool {@value #POOL}, created and read through
 * libvirt alone ({@code vol-create-as}, {@code vol-download}), as a test of a remote host must.
 */
public final class SecondHost {
  public static final String URI = "qemu+tcp://10.231.0.2/system";
  public static final String POOL = "lencap";
  /** Where host B keeps its pool: a path of its own mount namespace, empty (or absent) on this side. */
  public static final Path IMAGES = Path.of("/var/lib/lencap/hostb/images");

  private final Path script;
  private final CounterGuests guests;

  private SecondHost(Path script, CounterGuests guests) {
    this.script = script;
    this.guests = guests;
  }

  /** Host B as the scripts of the project the current directory is in (or under) set it up. */
  public static SecondHost inProject() {
    CounterGuests guests = CounterGuests.inProject();
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("scripts/setup/hostb.sh"))) {
        return new SecondHost(dir.resolve("scripts/setup/hostb.sh"), guests);
      }
    }
    throw new IllegalStateException("run from inside the Lencap project: scripts/setup/hostb.sh not found");
  }

  /** Why host B cannot be used here, if it cannot: tests skip (or fail, when required) with this message. */
  public Optional<String> unavailable() throws InterruptedException {
    Optional<String> guest = guests.unavailable();
    if (guest.isPresent()) {
      return guest;
    }
    try {
      virsh("pool-info", POOL);
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("host B does not answer at " + URI + " (" + e.getMessage() + "): run scripts/setup/hostb.sh");
    }
  }

  /**
   * Defines a fresh counter guest {@code name} on host B (any domain and volumes of that name are removed
   * first), its 32 MiB qcow2 disk and its console volumes in the pool; not started.
   */
  public void define(String name) throws IOException, InterruptedException {
    remove(name);
    virsh("vol-create-as", POOL, name + ".qcow2", "32M", "--format", "qcow2");
    virsh("vol-create-as", POOL, name + ".console", "0", "--format", "raw");
    String xml = HostCommand.run(script.resolveSibling("guest.sh").toString(), "xml", name,
        IMAGES.resolve(name + ".qcow2").toString(), IMAGES.resolve(name + ".console").toString());
    Path file = Files.createTempFile("hostb-" + name, ".xml");
    try {
      Files.writeString(file, xml, StandardCharsets.UTF_8);
      virsh("define", file.toString());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  public void start(String name) throws IOException, InterruptedException {
    virsh("start", name);
  }

  /** Destroys and undefines {@code name} and deletes its volumes; nothing is left of it on host B. */
  public void remove(String name) throws IOException, InterruptedException {
    quietly("destroy", name);
    quietly("undefine", name, "--snapshots-metadata", "--checkpoints-metadata");
    quietly("vol-delete", "--pool", POOL, name + ".qcow2");
    quietly("vol-delete", "--pool", POOL, name + ".console");
  }

  /**
   * Deletes what captures and restores of Lencap leave in the pool when a test fails before their release (memory
   * volumes, uploaded disks: names with {@code -lencap-}).
   */
  public void removeCaptureVolumes() throws IOException, InterruptedException {
    quietly("pool-refresh", POOL);
    for (String line : virsh("vol-list", POOL).split("\n")) {
      String name = line.trim().split("\\s+")[0];
      if (name.contains("-lencap-")) {
        quietly("vol-delete", "--pool", POOL, name);
      }
    }
  }

  /** The guest as a group member whose id is its name. */
  public Resource resource(String name) {
    return Resource.builder(name).type(ResourceType.VIRTUAL_MACHINE).locator(URI).property("domain", name).build();
  }

  /** The counters the guest printed so far, read through libvirt (a download of its console volume). */
  public List<Integer> counters(String name) throws IOException, InterruptedException {
    Path copy = Files.createTempFile("hostb-" + name, ".console");
    try {
      virsh("vol-download", "--pool", POOL, name + ".console", copy.toString());
      return CounterConsole.at(copy).counters();
    } finally {
      Files.deleteIfExists(copy);
    }
  }

  /**
   * The counters in console volume {@code volume} of the pool (a restored guest's console, which libvirt created):
   * the pool is read again first.
   */
  public List<Integer> countersIn(String volume) throws IOException, InterruptedException {
    virsh("pool-refresh", POOL);
    Path copy = Files.createTempFile("hostb-" + volume, ".console");
    try {
      virsh("vol-download", "--pool", POOL, volume, copy.toString());
      return CounterConsole.at(copy).counters();
    } finally {
      Files.deleteIfExists(copy);
    }
  }

  /**
   * Waits until console volume {@code volume} shows more than {@code skip} counters; returns the first after them
   * (the first a restored guest printed, {@code skip} being how many the console held before the restore).
   */
  public int awaitNewCounter(String volume, int skip, Duration limit)
      throws IOException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      try {
        List<Integer> seen = countersIn(volume);
        if (seen.size() > skip) {
          return seen.get(skip);
        }
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(volume + " on host B shows no counter after the first " + skip + " within "
            + limit);
      }
      TimeUnit.MILLISECONDS.sleep(500); // the console is remote: no file event to wait for, so look again
    }
  }

  /** Waits until the guest has printed a counter of at least {@code atLeast}; returns the last one seen. */
  public int awaitCounter(String name, int atLeast, Duration limit)
      throws IOException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      List<Integer> seen = counters(name);
      OptionalInt last = seen.isEmpty() ? OptionalInt.empty() : OptionalInt.of(seen.get(seen.size() - 1));
      if (last.isPresent() && last.getAsInt() >= atLeast) {
        return last.getAsInt();
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(name + " on host B printed no COUNTER >= " + atLeast + " within " + limit
            + " (last " + last + ")");
      }
      TimeUnit.MILLISECONDS.sleep(500); // the console is remote: no file event to wait for, so look again
    }
  }

  /** Kills host B's libvirtd with SIGKILL; its guests and namespaces stay. {@link #restart} brings it back. */
  public void killLibvirtd() throws IOException, InterruptedException {
    HostCommand.run(script.toString(), "kill");
  }

  /** Starts host B's daemons again where they are missing, and waits until it answers. */
  public void restart() throws IOException, InterruptedException {
    HostCommand.run(Duration.ofMinutes(3), script.toString());
  }

  /** Takes host B's end of the link down (or up again): its daemons and guests run on, unreachable. */
  public void link(boolean up) throws IOException, InterruptedException {
    HostCommand.run(script.toString(), "exec", "ip", "link", "set", "lc-b", up ? "up" : "down");
  }

  /** Runs virsh against host B; returns its output. */
  public String virsh(String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 4];
    command[0] = "virsh";
    command[1] = "-q";
    command[2] = "-c";
    command[3] = URI;
    System.arraycopy(args, 0, command, 4, args.length);
    return HostCommand.run(command);
  }

  private void quietly(String... args) throws InterruptedException {
    try {
      virsh(args);
    } catch (IOException e) {
      // absent already
    }
  }
}
