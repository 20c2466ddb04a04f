package io.lencap.testing;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeoutException;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One counter guest of {@link CounterGuests}: a libvirt domain whose files are {@code DIR/disk.qcow2}
 * (the guest writes {@code COUNTER n} into its first sector each second and a cold boot goes on from
 * there), {@code DIR/console.log} (its serial console) and, when asked for, {@code DIR/data.raw}.
 * Closing it destroys and undefines the domain and deletes the directory.
 */
public final class CounterGuest implements AutoCloseable {
  private static final Pattern SECTOR_COUNTER = Pattern.compile("^COUNTER (\\d+)\\s*$", Pattern.MULTILINE);

  private final CounterGuests guests;
  private final String name;
  private final Path directory;
  private final CounterConsole console;

  CounterGuest(CounterGuests guests, String name, Path directory) {
    this.guests = guests;
    this.name = name;
    this.directory = directory;
    this.console = CounterConsole.at(directory.resolve("console.log"));
  }

  /** The libvirt domain's name. */
  public String name() {
    return name;
  }

  public Path directory() {
    return directory;
  }

  /** The qcow2 image of disk {@code vda}; absent for a guest defined on a LUN. */
  public Path disk() {
    return directory.resolve("disk.qcow2");
  }

  /** The raw disk {@code vdb} of random bytes the guest never touches, for guests defined with one. */
  public Path data() {
    return directory.resolve("data.raw");
  }

  /** The qcow2 disk {@code vdb} of random bytes, for guests defined with a qcow2 data disk. */
  public Path dataImage() {
    return directory.resolve("data.qcow2");
  }

  /**
   * Writes {@code length} bytes of {@code pattern} at {@code offset} of disk {@code vdX} through QEMU's block layer,
   * as the guest's own writes go (and so marked in the disk's dirty bitmaps): {@code qemu-io} in QEMU's monitor, on
   * the virtio device libvirt names {@code virtio-diskN} for {@code vdX}. Not an edit of the image from outside.
   */
  public void writeThroughQemu(String dev, long offset, int length, int pattern) throws IOException, InterruptedException {
    writesThroughQemu(dev, new long[] {offset}, length, pattern);
  }

  /**
   * The same at each of {@code offsets}, a few hundred writes per {@code virsh} run (its commands separated by
   * {@code ;}): thousands of scattered 4 KiB writes in seconds rather than a process each.
   */
  public void writesThroughQemu(String dev, long[] offsets, int length, int pattern)
      throws IOException, InterruptedException {
    if (pattern < 0 || pattern > 255) {
      throw new IllegalArgumentException("pattern must be a byte, was " + pattern);
    }
    writes(dev, offsets, length, "-P " + pattern);
  }

  /**
   * The same with the first {@code length} bytes of {@code source} as each write's bytes (QEMU reads the file:
   * it must be readable by QEMU's user), for writes that neither compress nor repeat a pattern.
   */
  public void writesThroughQemu(String dev, long[] offsets, int length, Path source)
      throws IOException, InterruptedException {
    if (!source.isAbsolute() || !source.toString().matches("[A-Za-z0-9/._-]+")) {
      throw new IllegalArgumentException("source must be an absolute path of plain characters, was " + source);
    }
    writes(dev, offsets, length, "-s " + source);
  }

  private void writes(String dev, long[] offsets, int length, String fill) throws IOException, InterruptedException {
    if (!dev.matches("vd[a-z]") || length <= 0) {
      throw new IllegalArgumentException("dev must be vd[a-z], length > 0; were " + dev + ", " + length);
    }
    String device = "/machine/peripheral/virtio-disk" + (dev.charAt(2) - 'a') + "/virtio-backend";
    for (int from = 0; from < offsets.length; from += 500) {
      StringBuilder commands = new StringBuilder();
      for (int i = from; i < Math.min(offsets.length, from + 500); i++) {
        if (offsets[i] < 0) {
          throw new IllegalArgumentException("offsets must be >= 0, was " + offsets[i]);
        }
        commands.append(i == from ? "" : " ; ").append("qemu-monitor-command ").append(name)
            .append(" --hmp 'qemu-io -d ").append(device).append(" \"write ").append(fill).append(' ')
            .append(offsets[i]).append(' ').append(length).append("\"'");
      }
      String out = guests.virsh(commands.toString());
      if (!out.isBlank()) {
        throw new IOException("qemu-io on " + name + " " + dev + ": " + out.trim());
      }
    }
  }

  public Path console() {
    return console.file();
  }

  /** This guest as a member of a group, under the member id {@code id}. */
  public Resource resource(String id) {
    return Resource.builder(id).type(ResourceType.VIRTUAL_MACHINE).locator(guests.uri()).property("domain", name)
        .build();
  }

  /** Starts the defined domain ({@code virsh start}). */
  public void start() throws IOException, InterruptedException {
    guests.virsh("start", name);
  }

  /** Stops the domain at once, as pulling the plug would ({@code virsh destroy}). */
  public void destroy() throws IOException, InterruptedException {
    guests.virsh("destroy", name);
  }

  /** The QEMU process that runs the guest (libvirt writes its pid file). */
  public long qemuPid() throws IOException {
    return Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu", name + ".pid")).trim());
  }

  /** The counters printed on the console so far, in order. */
  public List<Integer> counters() throws IOException {
    return console.counters();
  }

  /** The last counter printed, if any. */
  public OptionalInt counter() throws IOException {
    return console.lastCounter();
  }

  /** The last counter printed; fails when there is none yet. */
  public int lastCounter() throws IOException {
    return counter().orElseThrow(() -> new IllegalStateException(name + " printed no counter yet"));
  }

  /** How many cold boots the console shows. */
  public long boots() throws IOException {
    return console.boots();
  }

  /** Waits until the console shows a counter the predicate accepts; returns it. */
  public int awaitCounter(IntPredicate accept, Duration limit)
      throws IOException, InterruptedException, TimeoutException {
    return console.awaitCounter(0, accept, limit);
  }

  /** Waits until a counter after the first {@code skip} ones is accepted by the predicate; returns it. */
  public int awaitCounter(int skip, IntPredicate accept, Duration limit)
      throws IOException, InterruptedException, TimeoutException {
    return console.awaitCounter(skip, accept, limit);
  }

  /** Waits until the guest has printed more than {@code seen} counters; returns the first new one. */
  public int awaitNewCounter(int seen, Duration limit) throws IOException, InterruptedException, TimeoutException {
    return console.awaitCounter(seen, n -> true, limit);
  }

  /** Waits until the last counter printed is greater than {@code after}; returns it. */
  public int awaitCounterAbove(int after, Duration limit) throws IOException, InterruptedException, TimeoutException {
    return console.awaitCounterAbove(after, limit);
  }

  /** Waits until the counter steps back after the first {@code skip} counters (a restore); returns it. */
  public int awaitStepBack(int skip, Duration limit) throws IOException, InterruptedException, TimeoutException {
    return console.awaitStepBack(skip, limit);
  }

  /** The counter in the first sector of {@link #disk()}; fails when there is none. */
  public int diskCounter() throws IOException, InterruptedException {
    return diskCounter(disk()).orElseThrow(() -> new IllegalStateException(name + ": no counter on " + disk()));
  }

  /** The counter in the first sector of a qcow2 image, read without taking QEMU's lock ({@code -U}). */
  public static OptionalInt diskCounter(Path image) throws IOException, InterruptedException {
    Path out = Files.createTempFile("sector0", ".raw");
    try {
      HostCommand.run("qemu-img", "dd", "-U", "-f", "qcow2", "-O", "raw", "bs=512", "count=1", "if=" + image,
          "of=" + out);
      Matcher m = SECTOR_COUNTER.matcher(new String(Files.readAllBytes(out), StandardCharsets.ISO_8859_1)
          .replace("\0", ""));
      return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Destroys and undefines the domain and deletes its directory. */
  @Override
  public void close() throws IOException, InterruptedException {
    guests.remove(name);
  }

  @Override
  public String toString() {
    return "counter guest " + name + " in " + directory;
  }
}
