package io.lencap.samples.guests;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tiny counter guests of the samples: defined and started through the project's
 * {@code scripts/setup/guest.sh} and {@code virsh}, watched through their serial console, where they
 * print {@code COUNTER n} once a second. Needs libvirt with QEMU ({@code scripts/setup/libvirt.sh}).
 */
public final class CounterGuests {
  private static final Pattern COUNTER = Pattern.compile("COUNTER (\\d+)");
  private final Path script;
  private final Path guestDir;
  private final String uri;

  /** Guests made by the scripts of the project the current directory is in (or under). */
  public static CounterGuests inProject() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("scripts/setup/guest.sh"))) {
        return new CounterGuests(dir);
      }
    }
    throw new IllegalStateException("run from inside the Lencap project: scripts/setup/guest.sh not found");
  }

  public CounterGuests(Path projectRoot) {
    this.script = projectRoot.resolve("scripts/setup/guest.sh");
    this.guestDir = Path.of(System.getenv().getOrDefault("LENCAP_GUEST_DIR", "/var/lib/lencap/guest"));
    this.uri = System.getenv().getOrDefault("LENCAP_LIBVIRT_URI", "qemu:///system");
  }

  /** The resource naming a guest, as an encapsulation member. */
  public Resource resource(String name) {
    return Resource.builder(name).type(ResourceType.VIRTUAL_MACHINE).locator(uri).property("domain", name).build();
  }

  /** Defines (fresh disk and console) and starts a guest. */
  public void start(String name) throws IOException, InterruptedException {
    remove(name);
    run("bash", script.toString(), "define", name);
    run("virsh", "-q", "-c", uri, "start", name);
  }

  /** Destroys and undefines a guest and deletes its files; nothing if it does not exist. */
  public void remove(String name) throws IOException, InterruptedException {
    run("bash", script.toString(), "undefine", name);
  }

  /**
   * The directory of a guest's files, created if missing: where a restore that moves a guest puts its
   * disks (the libvirt provider's {@code restore.directory}).
   */
  public Path directory(String name) throws IOException {
    return Files.createDirectories(guestDir.resolve("vms").resolve(name));
  }

  public Path console(String name) {
    return guestDir.resolve("vms").resolve(name).resolve("console.log");
  }

  /** The last counter the guest printed, if any. */
  public OptionalLong counter(String name) throws IOException {
    String text = Files.readString(console(name), StandardCharsets.ISO_8859_1);
    Matcher m = COUNTER.matcher(text);
    long last = -1;
    while (m.find()) {
      last = Long.parseLong(m.group(1));
    }
    return last < 0 ? OptionalLong.empty() : OptionalLong.of(last);
  }

  /** Every counter the guest printed, in order (a restore shows as a step back). */
  public List<Long> counters(String name) throws IOException {
    String text = Files.readString(console(name), StandardCharsets.ISO_8859_1);
    Matcher m = COUNTER.matcher(text);
    List<Long> out = new ArrayList<>();
    while (m.find()) {
      out.add(Long.parseLong(m.group(1)));
    }
    return out;
  }

  /** Waits until the guest prints a counter greater than {@code after}; returns it. */
  public long awaitCounterAbove(String name, long after, Duration limit) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      OptionalLong c = counter(name);
      if (c.isPresent() && c.getAsLong() > after) {
        return c.getAsLong();
      }
      Thread.sleep(200); // polling a file the guest appends to; there is nothing to wait on
    }
    throw new TimeoutException(name + " printed no counter above " + after + " within " + limit);
  }

  /** Waits until the guest has printed more than {@code seen} counters; returns the first new one. */
  public long awaitNewCounter(String name, int seen, Duration limit) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      List<Long> all = counters(name);
      if (all.size() > seen) {
        return all.get(seen);
      }
      Thread.sleep(200); // polling a file the guest appends to; there is nothing to wait on
    }
    throw new TimeoutException(name + " printed nothing new within " + limit);
  }

  /**
   * Waits until the guest's counter steps back after the first {@code seen} lines (a restore put an
   * older state in place); returns the counter it stepped back to.
   */
  public long awaitStepBack(String name, int seen, Duration limit) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      List<Long> all = counters(name);
      for (int i = Math.max(1, seen); i < all.size(); i++) {
        if (all.get(i) < all.get(i - 1)) {
          return all.get(i);
        }
      }
      Thread.sleep(200); // polling a file the guest appends to; there is nothing to wait on
    }
    throw new TimeoutException(name + "'s counter did not step back within " + limit);
  }

  /** The QEMU process that runs a guest (libvirt writes its pid file). */
  public long qemuPid(String name) throws IOException {
    return Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu", name + ".pid")).trim());
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out.trim());
    }
  }
}
