package io.lencap.iscsi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The storage images one member's captures took and may have kept, as this Lencap instance remembers them in its
 * work directory (kept across restarts). A commit deletes every one but its own: so an image whose checkpoint was
 * deleted before the next capture (the newest checkpoint deleted, a crash between commit and release) does not stay
 * on the storage for ever. Only names a driver gives ({@code lencap-…}) are read back: this list decides deletes.
 */
final class KeptImages {
  static final Pattern NAME = Pattern.compile("lencap-[A-Za-z0-9._-]{1,200}");
  private final Path file;

  KeptImages(Path workDirectory, String encapsulation, String member, LunAddress lun) {
    try {
      byte[] key = MessageDigest.getInstance("SHA-256").digest((encapsulation + "\0" + member + "\0" + lun.toUri())
          .getBytes(StandardCharsets.UTF_8));
      this.file = workDirectory.resolve("iscsi-images").resolve(HexFormat.of().formatHex(key, 0, 16));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The names recorded; none when nothing was. */
  synchronized Set<String> names() throws IOException {
    Set<String> names = new TreeSet<>();
    if (Files.exists(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (NAME.matcher(line).matches()) {
          names.add(line);
        }
      }
    }
    return names;
  }

  /** Records an image just taken: recorded before the commit, so a crash cannot lose it. */
  synchronized void add(String name) throws IOException {
    Set<String> names = names();
    names.add(name);
    replace(names);
  }

  /** Records exactly these names (atomically: a crash leaves the old list or the new). */
  synchronized void replace(Set<String> names) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, String.join("\n", names).getBytes(StandardCharsets.UTF_8));
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
