package io.lencap.testing;

import io.lencap.api.NotFoundException;
import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A test member for store tests: a local file as a block volume ({@code tckvol:///path/to/file}; register it in the test's META-INF/services). The
 * cut copies the file aside, so the member resumes before the transfer; the transfer streams the copy
 * in fixed chunks (256 KiB, or the resource property {@code chunkBytes}; content-defined chunks of that
 * average with {@code chunking=content}). {@link #MID_TRANSFER} runs a test's action once a transfer has written half a file
 * (fault injection at a known point, no timing guesses).
 */
public final class FileVolumeProvider implements ResourceProvider {
  public static final String SCHEME = "tckvol";
  /** File path -> action run once, from the transfer thread, when half of that file has been written. */
  public static final Map<String, Runnable> MID_TRANSFER = new ConcurrentHashMap<>();
  private static final int BUFFER = 1 << 20;

  @Override
  public String name() {
    return "file-volume";
  }

  @Override
  public Support supports(Resource r) {
    return SCHEME.equals(r.locator().getScheme()) ? Support.yes() : Support.no("scheme is not " + SCHEME);
  }

  @Override
  public ResourceDriver open(Resource r, ProviderContext context) {
    Path file = Path.of(r.locator().getPath());
    return new ResourceDriver() {
      @Override
      public Set<Capability> capabilities() {
        return EnumSet.of(Capability.LIVE_CUT, Capability.RESTORE_ELSEWHERE);
      }

      @Override
      public void prepare(CaptureContext c) {
        if (!Files.isRegularFile(file)) {
          throw new NotFoundException("no volume file " + file);
        }
      }

      @Override
      public void quiesce() {}

      @Override
      public Cut cut(CaptureContext c) throws Exception {
        Path copy = context.workDirectory().resolve(c.checkpointId() + "-" + r.id() + ".snap");
        Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
        c.method("file-copy");
        return Cut.live(Map.of("copy", copy.toString()));
      }

      @Override
      public void resume() {}

      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        Path copy = Path.of(cut.artefacts().get("copy"));
        long size = Files.size(copy);
        c.state().expectBytes(size);
        Runnable hook = MID_TRANSFER.get(file.toString());
        byte[] buf = new byte[BUFFER];
        int bytes = r.property("chunkBytes").map(Integer::parseInt).orElse(Chunking.DEFAULT_BLOCK_SIZE);
        Chunking chunking = r.property("chunking").filter("content"::equals).isPresent()
            ? Chunking.contentDefined(bytes / 4, bytes, bytes * 4) : Chunking.fixed(bytes);
        try (InputStream in = Files.newInputStream(copy);
            EntryWriter w = c.state().create("volume", EntryKind.FILE, Map.of(), chunking)) {
          int n;
          while ((n = in.read(buf)) > 0) {
            w.write(buf, 0, n);
            if (hook != null && w.size() >= size / 2 && MID_TRANSFER.remove(file.toString(), hook)) {
              hook.run();
            }
          }
        }
      }

      @Override
      public void release(Cut cut) throws Exception {
        Files.deleteIfExists(Path.of(cut.artefacts().get("copy")));
      }

      @Override
      public void prepareRestore(RestoreContext c) {
        Path target = Path.of(c.target().locator().getPath());
        if (!Files.isDirectory(target.getParent())) {
          throw new NotFoundException("no directory for the volume file " + target);
        }
      }

      @Override
      public void restore(RestoreContext c) throws Exception {
        Path target = Path.of(c.target().locator().getPath());
        try (InputStream in = c.state().open(c.state().entry("volume").orElseThrow());
            OutputStream out = Files.newOutputStream(target)) {
          in.transferTo(out);
        }
      }
    };
  }

  @Override
  public Watcher watch(Resource r, ProviderContext context) {
    Path file = Path.of(r.locator().getPath());
    return () -> Files.isRegularFile(file) ? Health.healthy() : Health.failed("no file " + file);
  }

  /**
   * Rewrites {@code percent} % of a volume file's 4 KiB blocks, chosen at random (what databases and file systems do
   * between two checkpoints), with random bytes; returns the bytes written.
   */
  public static long rewriteScattered(Path file, int percent, long seed) throws java.io.IOException {
    java.util.Random random = new java.util.Random(seed);
    long blocks = Files.size(file) / 4096;
    long n = Math.max(1, blocks * percent / 100);
    byte[] block = new byte[4096];
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
        java.nio.file.StandardOpenOption.WRITE)) {
      for (long i = 0; i < n; i++) {
        random.nextBytes(block);
        ch.write(java.nio.ByteBuffer.wrap(block), (long) (random.nextDouble() * blocks) * 4096);
      }
    }
    return n * 4096;
  }
}
