package io.lencap.iscsi;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.Resource;
import io.lencap.testing.FileVolumeProvider;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Plain benchmark (not a test) behind the LUN provider's choice of fixed, block-aligned chunks: the same
 * volume image captured with fixed chunks of 64 KiB, 256 KiB and 1 MiB and with content-defined chunks
 * (FastCDC) of the same averages, then 1% of it rewritten in place (the way a disk changes: no bytes
 * inserted or shifted) as scattered 4 KiB writes or as 64 KiB extents, and captured again. Prints the
 * first capture's speed and what the second one stored. The transport (iSCSI) does not enter into it,
 * so the image is a local file. Run: {@code mvn -o -pl impl/iscsi test-compile exec:java
 * -Dexec.classpathScope=test -Dexec.mainClass=io.lencap.iscsi.LunChunkingStudy} ({@code -Dmib=256}).
 */
public final class LunChunkingStudy {

  record Layout(String name, String chunking, int bytes) {}

  public static void main(String[] args) throws Exception {
    long size = Long.getLong("mib", 256) << 20;
    Path dir = Files.createTempDirectory("lencap-chunking");
    List<Layout> layouts = List.of(new Layout("fixed 64 KiB", "fixed", 64 << 10),
        new Layout("fixed 256 KiB", "fixed", 256 << 10), new Layout("fixed 1 MiB", "fixed", 1 << 20),
        new Layout("content 64 KiB", "content", 64 << 10), new Layout("content 256 KiB", "content", 256 << 10),
        new Layout("content 1 MiB", "content", 1 << 20));
    try {
      System.out.printf("volume %d MiB of random bytes; 1%% rewritten in place, then captured again%n", size >> 20);
      System.out.printf("%-16s %10s %8s | %22s | %22s%n", "chunking", "1st MiB/s", "chunks",
          "4 KiB writes: stored", "64 KiB extents: stored");
      for (Layout l : layouts) {
        String[] cells = new String[2];
        double speed = 0;
        long chunks = 0;
        int[] writeSizes = {4 << 10, 64 << 10};
        for (int w = 0; w < writeSizes.length; w++) {
          Path image = dir.resolve("volume.img");
          fill(image, size);
          Resource volume = Resource.builder("lun").type("block").locator(FileVolumeProvider.SCHEME + "://" + image)
              .property("chunking", l.chunking()).property("chunkBytes", Integer.toString(l.bytes())).build();
          Encapsulation job = Encapsulation.builder("study").resource(volume).build();
          try (Lencap lencap = Lencap.builder().store(dir.resolve("store-" + w)).build()) {
            long t = System.nanoTime();
            Checkpoint first = lencap.capture(job).join();
            speed = Math.max(speed, size / 1048576.0 / ((System.nanoTime() - t) / 1e9));
            chunks = first.storedBytes() > 0 ? countChunks(dir.resolve("store-" + w)) : 0;
            long changed = rewrite(image, size, writeSizes[w]);
            Checkpoint second = lencap.capture(job).join();
            cells[w] = String.format("%5.1f MiB = %4.1fx chg", second.storedBytes() / 1048576.0,
                (double) second.storedBytes() / changed);
          }
          deleteTree(dir.resolve("store-" + w));
        }
        System.out.printf("%-16s %10.0f %8d | %22s | %22s%n", l.name(), speed, chunks, cells[0], cells[1]);
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static void fill(Path image, long size) throws Exception {
    Random random = new Random(1);
    byte[] block = new byte[1 << 20];
    try (var out = Files.newOutputStream(image)) {
      for (long done = 0; done < size; done += block.length) {
        random.nextBytes(block);
        out.write(block);
      }
    }
  }

  /** Rewrites 1% of the image in aligned pieces of {@code piece} bytes at random places; returns bytes changed. */
  private static long rewrite(Path image, long size, int piece) throws Exception {
    Random random = new Random(2);
    byte[] data = new byte[piece];
    long pieces = size / piece;
    long changed = 0;
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      while (changed < size / 100) {
        random.nextBytes(data);
        f.seek((long) (random.nextDouble() * pieces) * piece);
        f.write(data);
        changed += piece;
      }
    }
    return changed;
  }

  private static long countChunks(Path store) throws Exception {
    try (var walk = Files.walk(store.resolve("chunks"))) {
      return walk.filter(Files::isRegularFile).count();
    }
  }

  private static void deleteTree(Path dir) throws Exception {
    if (Files.exists(dir)) {
      try (var walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
