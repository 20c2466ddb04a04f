package io.lencap.benchmarks.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The reference group's data: a LUN image full of incompressible bytes, a tree of small files, and the
 * 1% changes between the first and second capture. Written directly to the backing files, which istgt
 * and Ganesha (metadata caching off) serve as they are.
 */
public final class Workload {
  /** LUN changes are 64 KiB extents (16 blocks of 4 KiB) at random aligned offsets. */
  public static final int EXTENT = 64 * 1024;

  private Workload() {}

  public static void fillLun(Path image, long bytes, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] piece = new byte[1 << 20];
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE)) {
      for (long at = 0; at < bytes; at += piece.length) {
        random.nextBytes(piece);
        ch.write(ByteBuffer.wrap(piece, 0, (int) Math.min(piece.length, bytes - at)), at);
      }
      ch.force(true);
    }
  }

  /** {@code files} files of 1–8 KiB in 100 directories; returns the total bytes. */
  public static long makeTree(Path root, int files, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    long total = 0;
    for (int i = 0; i < files; i++) {
      Path dir = Files.createDirectories(root.resolve(String.format("d%02d", i % 100)));
      byte[] data = new byte[1024 + random.nextInt(7 * 1024 + 1)];
      random.nextBytes(data);
      Files.write(dir.resolve(String.format("f%05d.bin", i)), data);
      total += data.length;
    }
    return total;
  }

  /** Rewrites {@code fraction} of the LUN's bytes as random 64 KiB extents; returns the bytes written. */
  public static long mutateLun(Path image, double fraction, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    long size = Files.size(image);
    long extents = size / EXTENT;
    long count = Math.max(1, Math.round(extents * fraction));
    byte[] data = new byte[EXTENT];
    try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE)) {
      Set<Long> picked = new HashSet<>();
      while (picked.size() < count) {
        long extent = random.nextLong(extents);
        if (picked.add(extent)) { // distinct extents: exactly the fraction changes
          random.nextBytes(data);
          ch.write(ByteBuffer.wrap(data), extent * EXTENT);
        }
      }
      ch.force(true);
    }
    return count * EXTENT;
  }

  /** Rewrites {@code fraction} of the files with new bytes of the same size; returns how many. */
  public static int mutateTree(Path root, double fraction, long seed) throws IOException {
    List<Path> files = files(root);
    SplittableRandom random = new SplittableRandom(seed);
    int count = (int) Math.max(1, Math.round(files.size() * fraction));
    Collections.shuffle(files, new Random(seed)); // distinct files
    for (Path f : files.subList(0, count)) {
      byte[] data = new byte[(int) Files.size(f)];
      random.nextBytes(data);
      Files.write(f, data);
    }
    return count;
  }

  public static List<Path> files(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return new ArrayList<>(s.filter(Files::isRegularFile).sorted().toList());
    }
  }

  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Reads every byte of the given files (directories: every file under them); returns the bytes read. */
  public static long readAll(List<Path> roots) throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    long total = 0;
    for (Path root : roots) {
      for (Path f : Files.isDirectory(root) ? files(root) : List.of(root)) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
          int n;
          while ((n = ch.read(buf.clear())) >= 0) {
            total += n;
          }
        }
      }
    }
    return total;
  }
}
