package io.lencap.localdir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Random;
import java.util.stream.Stream;

/** Builds and changes the trees the tests capture: mixed sizes up to a few MiB, nesting, symlinks, modes. */
final class SampleTree {
  static final String BIG = "a/b/c/big.bin";

  private SampleTree() {}

  static Path create(Path root, long seed) throws IOException {
    Random random = new Random(seed);
    Files.createDirectories(root.resolve("a/b/c"));
    Files.createDirectories(root.resolve("docs"));
    Files.createDirectories(root.resolve("empty-dir"));
    for (int i = 0; i < 20; i++) {
      String line = "note " + i + " of seed " + seed + "\n";
      Files.writeString(root.resolve("docs/note-" + i + ".txt"), line.repeat(i * 40));
    }
    Files.write(root.resolve("a/small.bin"), bytes(random, 1000));
    Files.write(root.resolve("a/b/one-mib.bin"), bytes(random, 1 << 20));
    Files.write(root.resolve(BIG), bytes(random, 3 * (1 << 20) + 12345));
    Files.writeString(root.resolve("a/b/log.txt"), "2026-11-22 job step ok\n".repeat(100_000)); // 2.3 MB, compressible
    Files.createFile(root.resolve("empty.txt"));
    Path script = Files.writeString(root.resolve("run.sh"), "#!/bin/sh\necho hello\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Files.setPosixFilePermissions(root.resolve("a/small.bin"), PosixFilePermissions.fromString("rw-------"));
    Files.createSymbolicLink(root.resolve("docs-link"), Path.of("docs"));
    Files.createSymbolicLink(root.resolve("a/dangling"), Path.of("../nowhere"));
    Files.createSymbolicLink(root.resolve("a/b/loop"), Path.of("loop")); // resolves nowhere: kept as a link
    return root;
  }

  /** Edits the middle of the big file, deletes, creates, chmods, retargets a symlink. */
  static void mutate(Path root, long seed) throws IOException {
    Random random = new Random(seed);
    try (var ch = Files.newByteChannel(root.resolve(BIG), StandardOpenOption.WRITE)) {
      ch.position(1 << 20).write(java.nio.ByteBuffer.wrap(bytes(random, 100_000)));
    }
    Files.delete(root.resolve("docs/note-3.txt"));
    Files.writeString(root.resolve("docs/new-" + seed + ".txt"), "new file " + seed);
    Files.createDirectories(root.resolve("new-dir-" + seed));
    Files.setPosixFilePermissions(root.resolve("docs/note-5.txt"), PosixFilePermissions.fromString("r--r--r--"));
    Files.delete(root.resolve("docs-link"));
    Files.createSymbolicLink(root.resolve("docs-link"), Path.of("a"));
  }

  /** Sets every entry's time to one fixed past instant, so that nothing in the tree is racily fresh. */
  static void age(Path root) throws IOException {
    FileTime past = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setTimes(past, null, null);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }
}
