package io.lencap.localdir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * A cooperating writer that keeps changing a directory (rewrites, appends, deletions, renames, files
 * turned into directories and symlinks) until it sees the quiesce marker, then stops for good and says so.
 */
final class ChurningWriter implements Runnable {
  private final Path root;
  private final Path area;
  private final Random random;
  /** Counted down once per operation: tests wait for enough churn before capturing. */
  final CountDownLatch warm;
  /** Counted down when the writer has seen the marker and finished its last write. */
  final CountDownLatch stopped = new CountDownLatch(1);
  volatile boolean halt;
  volatile Throwable failure;

  ChurningWriter(Path root, long seed, int warmOps) throws IOException {
    this.root = root;
    this.area = Files.createDirectories(root.resolve("churn"));
    this.random = new Random(seed);
    this.warm = new CountDownLatch(warmOps);
  }

  @Override
  public void run() {
    try {
      while (!halt) {
        if (Files.exists(root.resolve(LocalDirectoryProvider.QUIESCE_MARKER), LinkOption.NOFOLLOW_LINKS)) {
          stopped.countDown();
          return;
        }
        try {
          step();
        } catch (IOException expected) {
          // a random operation on a name that just changed kind or vanished: the next one goes on
        }
        warm.countDown();
      }
    } catch (Throwable t) {
      failure = t;
    } finally {
      stopped.countDown();
    }
  }

  private void step() throws IOException {
    Path p = area.resolve("f" + random.nextInt(40));
    Path q = area.resolve("f" + random.nextInt(40));
    int dice = random.nextInt(100);
    if (dice < 40) {
      if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(p); // a symlink here: never write through it
        byte[] b = new byte[random.nextInt(200_000)];
        random.nextBytes(b);
        Files.write(p, b);
      }
    } else if (dice < 55) {
      if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(p);
      }
    } else if (dice < 70) {
      if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(q, LinkOption.NOFOLLOW_LINKS)) {
        Files.move(p, q, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    } else if (dice < 80) {
      if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(p);
        Files.createDirectory(p);
        Files.writeString(p.resolve("inner.txt"), "inside " + p.getFileName());
      }
    } else if (dice < 90) {
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        try (Stream<Path> all = Files.walk(p)) {
          for (Path x : all.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(x);
          }
        }
      }
    } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(p);
      Files.createSymbolicLink(p, q.getFileName());
    }
  }
}
