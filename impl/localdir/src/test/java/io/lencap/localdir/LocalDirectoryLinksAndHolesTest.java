package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What backup tools keep: hard links come back as hard links, sparse files stay sparse. */
class LocalDirectoryLinksAndHolesTest {
  @TempDir
  Path sandbox;
  private final MemoryState.Chunks chunks = new MemoryState.Chunks();
  /** The notes of the last {@link #capture}. */
  private List<String> lastNotes = List.of();

  @Test
  void hardLinksAreStoredOnceAndRestoredAsLinks() throws Exception {
    Path root = Files.createDirectories(sandbox.resolve("tree"));
    Files.createDirectories(root.resolve("a"));
    Files.createDirectories(root.resolve("b"));
    byte[] content = new byte[300_000];
    new Random(1).nextBytes(content);
    Files.write(root.resolve("a/x.bin"), content);
    Files.createLink(root.resolve("b/y.bin"), root.resolve("a/x.bin"));
    Files.writeString(root.resolve("c.txt"), "a file of its own");

    StoredState state = capture(root, "cp1");
    StoredEntry second = state.entry("b/y.bin").orElseThrow();
    assertEquals(Optional.of("a/x.bin"), second.attribute("link"), second.toString());
    assertEquals(List.of(), second.chunks(), "the content is stored once, under a/x.bin");

    Path elsewhere = sandbox.resolve("elsewhere");
    restore(root, elsewhere, state);
    assertEquals(key(elsewhere.resolve("a/x.bin")), key(elsewhere.resolve("b/y.bin")), "not linked");
    assertEquals(2, Files.getAttribute(elsewhere.resolve("b/y.bin"), "unix:nlink", LinkOption.NOFOLLOW_LINKS));
    assertTrue(java.util.Arrays.equals(content, Files.readAllBytes(elsewhere.resolve("b/y.bin"))));

    // In place, after the link was broken into two files (one changed): linked again, to the captured content.
    Files.delete(root.resolve("b/y.bin"));
    Files.writeString(root.resolve("b/y.bin"), "no longer the same file");
    restore(root, root, state);
    assertEquals(key(root.resolve("a/x.bin")), key(root.resolve("b/y.bin")));
    assertTrue(java.util.Arrays.equals(content, Files.readAllBytes(root.resolve("b/y.bin"))));
    assertNotEquals(key(root.resolve("a/x.bin")), key(root.resolve("c.txt")));
  }

  @Test
  void aSparseFileComesBackSparse() throws Exception {
    Path root = Files.createDirectories(sandbox.resolve("tree"));
    Path sparse = root.resolve("sparse.bin");
    long size = 64L << 20;
    try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
      f.setLength(size);
      f.seek(size / 2);
      f.write("hello!".getBytes(StandardCharsets.US_ASCII)); // 6 bytes of data in 64 MiB
    }
    StoredState state = capture(root, "cp1");
    long holes = lastNotes.stream().filter(n -> n.endsWith(" bytes of holes in sparse files taken as zeros, not read"))
        .mapToLong(n -> Long.parseLong(n.substring(0, n.indexOf(' ')))).sum();
    assertTrue(holes >= size - (1 << 20), "the capture read the holes: its notes " + lastNotes);
    assertEquals(size, state.entry("sparse.bin").orElseThrow().size());

    Path elsewhere = sandbox.resolve("elsewhere");
    long read = chunks.bytesRead();
    restore(root, elsewhere, state);
    assertTrue(chunks.bytesRead() - read <= 2 << 20, "read " + (chunks.bytesRead() - read)
        + " bytes from the store: only the one chunk with data, verified then written; zero chunks are not read");
    Path back = elsewhere.resolve("sparse.bin");
    assertEquals(size, Files.size(back));
    try (RandomAccessFile f = new RandomAccessFile(back.toFile(), "r")) {
      byte[] six = new byte[6];
      f.seek(size / 2);
      f.readFully(six);
      assertEquals("hello!", new String(six, StandardCharsets.US_ASCII));
    }
    long allocated = allocatedBytes(back);
    assertTrue(allocated < (1 << 20), "restored with " + allocated + " bytes allocated for 6 bytes of data");
  }

  // ---- helpers

  private StoredState capture(Path root, String id) throws Exception {
    Resource r = tree(root);
    MemoryState sink = new MemoryState(chunks, id);
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, id, Optional.empty(), sink);
    try (ResourceDriver d = new LocalDirectoryDriver(r, root, false, 4,
        Clock.offset(Clock.systemUTC(), Duration.ofSeconds(1)))) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      d.release(cut);
    }
    lastNotes = ctx.notes();
    return sink.seal();
  }

  private void restore(Path from, Path onto, StoredState state) throws Exception {
    try (ResourceDriver d = new LocalDirectoryDriver(tree(onto), onto, false, 4)) {
      TckRestoreContext ctx = new TckRestoreContext(tree(from), tree(onto), state);
      d.prepareRestore(ctx);
      d.restore(ctx);
    }
  }

  private static Resource tree(Path dir) {
    return Resource.of("tree", ResourceType.FILE_TREE, dir.toUri().toString());
  }

  private static Object key(Path p) throws Exception {
    return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
        .fileKey();
  }

  /** Blocks allocated to the file, as stat(1) shows them (the JDK does not). */
  private static long allocatedBytes(Path p) throws Exception {
    Process stat = new ProcessBuilder("stat", "-c", "%b %B", p.toString()).redirectErrorStream(true).start();
    String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
    assertTrue(stat.waitFor(10, TimeUnit.SECONDS) && stat.exitValue() == 0, out);
    String[] f = out.split(" ");
    return Long.parseLong(f[0]) * Long.parseLong(f[1]);
  }
}
