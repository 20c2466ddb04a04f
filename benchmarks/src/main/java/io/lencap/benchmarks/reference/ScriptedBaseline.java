package io.lencap.benchmarks.reference;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What users script today, as shell commands: suspend the guests; {@code virsh save} their memory and
 * copy their disks; read the LUN over iSCSI with libiscsi (through {@code qemu-img convert}'s iscsi
 * driver: libiscsi-bin's own tools read but do not copy data); {@code tar} the export's directory (no
 * NFS mount works here, and libnfs's {@code nfs-cp} copies one file per process); restore the guests.
 * The whole group stays paused from the first suspend to the last restore. Every capture is full.
 */
public final class ScriptedBaseline {
  /** A baseline capture: the group's pause (which here is also the wall time) and the bytes written. */
  public record Result(Path dir, Map<String, Path> disks, long pauseNanos, long bytes) {}

  private final String uri;
  private final List<String> vms;
  private final URI lun;
  private final Path export;

  public ScriptedBaseline(String uri, List<String> vms, URI lun, Path export) throws IOException, InterruptedException {
    this.uri = uri;
    this.lun = lun;
    this.export = export;
    this.vms = List.copyOf(vms);
  }

  private Path disk(String vm) throws IOException, InterruptedException {
    for (String line : Sh.run("virsh", "-q", "-c", uri, "domblklist", vm).split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length == 2 && parts[0].equals("vda")) {
        return Path.of(parts[1]);
      }
    }
    throw new IOException(vm + " has no disk vda");
  }

  public Result capture(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Map<String, Path> disks = new LinkedHashMap<>(); // where each disk is now (a capture may have moved it)
    for (String vm : vms) {
      disks.put(vm, disk(vm));
    }
    long t0 = System.nanoTime();
    for (String vm : disks.keySet()) {
      virsh("suspend", vm);
    }
    for (Map.Entry<String, Path> d : disks.entrySet()) {
      virsh("save", d.getKey(), dir.resolve(d.getKey() + ".save").toString());
      Files.copy(d.getValue(), dir.resolve(d.getKey() + ".disk"), StandardCopyOption.REPLACE_EXISTING);
    }
    Sh.run("qemu-img", "convert", "-f", "raw", "-O", "raw", lun.toString(), dir.resolve("lun.raw").toString());
    Sh.run("tar", "-C", export.toString(), "-cf", dir.resolve("export.tar").toString(), ".");
    for (String vm : disks.keySet()) {
      virsh("restore", dir.resolve(vm + ".save").toString(), "--running");
    }
    long pause = System.nanoTime() - t0;
    long bytes = 0;
    for (Path f : Workload.files(dir)) {
      bytes += Files.size(f);
    }
    return new Result(dir, disks, pause, bytes);
  }

  /** Puts the group back as captured; the guests must be stopped. Returns nanoseconds. */
  public long restore(Result from) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    for (Map.Entry<String, Path> d : from.disks().entrySet()) {
      Files.copy(from.dir().resolve(d.getKey() + ".disk"), d.getValue(), StandardCopyOption.REPLACE_EXISTING);
      virsh("restore", from.dir().resolve(d.getKey() + ".save").toString(), "--paused");
    }
    Sh.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", from.dir().resolve("lun.raw").toString(), lun.toString());
    try (var s = Files.list(export)) {
      for (Path p : s.toList()) {
        Workload.deleteTree(p);
      }
    }
    Sh.run("tar", "-C", export.toString(), "-xf", from.dir().resolve("export.tar").toString());
    for (String vm : vms) {
      virsh("resume", vm);
    }
    return System.nanoTime() - t0;
  }

  private void virsh(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("virsh", "-q", "-c", uri));
    cmd.addAll(List.of(args));
    Sh.run(cmd.toArray(String[]::new));
  }
}
