package io.lencap.libvirt;

import io.lencap.api.LencapTimeoutException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The QEMU image tools a capture or restore runs: {@code qemu-img} and {@code qemu-nbd}, each bounded in time. */
final class QemuImg {
  private static final Duration LIMIT = Duration.ofMinutes(30);
  private static final Pattern BITMAP = Pattern.compile("\\{\"flags\":\\[([^\\]]*)\\],\"name\":\"([^\"]*)\"");

  private QemuImg() {}

  /** Options naming a qcow2 file for {@code --image-opts}, without taking QEMU's lock (the file is frozen). */
  static String unlockedQcow2(Path image) {
    return "driver=qcow2,file.driver=file,file.locking=off,file.filename=" + image.toString().replace(",", ",,");
  }

  /**
   * Whether the qcow2 image holds the persistent bitmap {@code name}, stored consistently (not in use by a
   * process that may have died with it) and recording; empty if so, else why not.
   */
  static Optional<String> bitmapProblem(Path image, String name) throws IOException {
    return bitmapProblem(run(List.of("qemu-img", "info", "-U", "--output=json", image.toString()), "reading " + image),
        name, image.getFileName().toString());
  }

  /** The same, from {@code qemu-img info --output=json} of the image {@code file}. */
  static Optional<String> bitmapProblem(String info, String name, String file) {
    Matcher m = BITMAP.matcher(info.replaceAll("\\s", ""));
    while (m.find()) {
      if (m.group(2).equals(name)) {
        String flags = m.group(1);
        if (flags.contains("\"in-use\"")) {
          return Optional.of("its bitmap " + name + " in " + file + " is marked in use (left "
              + "inconsistent by a QEMU that stopped without storing it)");
        }
        if (!flags.contains("\"auto\"")) {
          return Optional.of("its bitmap " + name + " in " + file + " is not recording");
        }
        return Optional.empty();
      }
    }
    return Optional.of("its image " + file + " holds no bitmap " + name);
  }

  /** The names of the persistent bitmaps a qcow2 image holds, read without QEMU's lock. */
  static List<String> bitmapNames(Path image) throws IOException {
    return bitmapNames(run(List.of("qemu-img", "info", "-U", "--output=json", image.toString()), "reading " + image));
  }

  /** The same, from {@code qemu-img info --output=json}. */
  static List<String> bitmapNames(String info) {
    List<String> names = new ArrayList<>();
    Matcher m = BITMAP.matcher(info.replaceAll("\\s", ""));
    while (m.find()) {
      names.add(m.group(2));
    }
    return names;
  }

  /** Deletes a persistent bitmap from a qcow2 image that no process has open. */
  static void removeBitmap(Path image, String name) throws IOException {
    run(List.of("qemu-img", "bitmap", "--remove", image.toString(), name), "removing bitmap " + name + " from "
        + image);
  }

  /** Runs a command; returns its standard output, or throws with its output. */
  static String run(List<String> command, String what) throws IOException {
    Path out = Files.createTempFile("lencap-qemu", ".log");
    Path err = Files.createTempFile("lencap-qemu", ".err");
    try {
      Process p = new ProcessBuilder(new ArrayList<>(command)).redirectOutput(out.toFile()).redirectError(err.toFile())
          .start();
      if (!p.waitFor(LIMIT.toMinutes(), TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new LencapTimeoutException(what + ": " + command.get(0) + " did not finish within " + LIMIT);
      }
      if (p.exitValue() != 0) {
        throw new IOException(what + ": " + command.get(0) + " failed: " + (Files.readString(err).trim() + " "
            + Files.readString(out).trim()).trim());
      }
      return Files.readString(out);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(what + ": interrupted", e);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
