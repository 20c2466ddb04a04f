package io.lencap.samples;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The tree the demo protects: a few thousand files that look like a job's working directory (sources,
 * docs, binary data, logs, images), nested, with symlinks and a few modes, reproducible from a seed.
 */
final class DemoTree {
  private static final String[] WORDS = {"rank", "halo", "exchange", "solver", "mesh", "step", "flux", "grid",
      "residual", "checkpoint", "barrier", "reduce", "scatter", "gather", "tile", "stencil", "boundary", "cell"};
  private static final int PROJECTS = 10;
  private static final int PACKAGES = 5;
  private static final int SOURCES = 50;

  /** What the demo changed between its two captures. */
  record Changes(int edited, int deleted, int created) {}

  private DemoTree() {}

  static void create(Path root, long seed) throws IOException {
    Random random = new Random(seed);
    for (int p = 0; p < PROJECTS; p++) {
      Path project = root.resolve("project-" + p);
      for (int k = 0; k < PACKAGES; k++) {
        Path pkg = Files.createDirectories(project.resolve("src/module-" + k));
        for (int f = 0; f < SOURCES; f++) {
          Files.writeString(pkg.resolve("Unit" + f + ".java"), source(random, 200 + random.nextInt(9000)));
        }
      }
      Path docs = Files.createDirectories(project.resolve("docs"));
      for (int d = 0; d < 20; d++) {
        Files.writeString(docs.resolve("chapter-" + d + ".md"), source(random, 500 + random.nextInt(4000)));
      }
      Path data = Files.createDirectories(project.resolve("data"));
      for (int d = 0; d < 10; d++) {
        Files.write(data.resolve("block-" + d + ".bin"), bytes(random, 16 * 1024 + random.nextInt(480 * 1024)));
      }
      Path run = Files.writeString(project.resolve("run.sh"), "#!/bin/sh\nexec ./solver --project " + p + "\n");
      Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-x---"));
      Files.createSymbolicLink(project.resolve("latest"), Path.of("data/block-9.bin"));
    }
    Path logs = Files.createDirectories(root.resolve("logs"));
    for (int l = 0; l < 3; l++) {
      StringBuilder log = new StringBuilder();
      for (int line = 0; log.length() < (1 + l) * 1024 * 1024; line++) {
        log.append("2026-11-22T03:").append(line % 60).append(" rank ").append(line % 64).append(' ')
            .append(WORDS[random.nextInt(WORDS.length)]).append(" ok\n");
      }
      Files.writeString(logs.resolve("job-" + l + ".log"), log);
    }
    Path images = Files.createDirectories(root.resolve("images"));
    for (int i = 0; i < 2; i++) {
      Files.write(images.resolve("state-" + i + ".img"), bytes(random, 4 * 1024 * 1024));
    }
    Files.createDirectories(root.resolve("scratch/empty"));
    Files.createSymbolicLink(root.resolve("README.md"), Path.of("project-0/docs/chapter-0.md"));
  }

  /** Edits about 5% of the files, deletes 2%, adds 100, and rewrites 1 MiB in the middle of an image. */
  static Changes mutate(Path root, long seed) throws IOException {
    Random random = new Random(seed);
    List<Path> files = new ArrayList<>();
    try (Stream<Path> all = Files.walk(root)) {
      all.filter(Files::isRegularFile).sorted().forEach(files::add);
    }
    int edited = 0;
    int deleted = 0;
    for (Path f : files) {
      int dice = random.nextInt(100);
      if (dice < 5) {
        Files.writeString(f, "// edited by the demo\n" + source(random, 300), StandardOpenOption.APPEND);
        edited++;
      } else if (dice < 7) {
        Files.delete(f);
        deleted++;
      }
    }
    Path imageFile = root.resolve("images/state-0.img");
    try (SeekableByteChannel image = Files.newByteChannel(imageFile, StandardOpenOption.WRITE)) {
      image.position(1024 * 1024).write(ByteBuffer.wrap(bytes(random, 1024 * 1024)));
      edited++;
    }
    Path added = Files.createDirectories(root.resolve("project-new/src"));
    for (int i = 0; i < 100; i++) {
      Files.writeString(added.resolve("Added" + i + ".java"), source(random, 1000 + random.nextInt(3000)));
    }
    return new Changes(edited, deleted, 100);
  }

  private static String source(Random random, int length) {
    StringBuilder sb = new StringBuilder(length + 80);
    while (sb.length() < length) {
      sb.append("  void ").append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(1000)).append("() { ")
          .append(WORDS[random.nextInt(WORDS.length)]).append(".apply(").append(random.nextInt(64)).append("); }\n");
    }
    return sb.toString();
  }

  private static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }
}
