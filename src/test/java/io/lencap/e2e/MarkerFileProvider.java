package io.lencap.e2e;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * A test provider over one local file ({@code testfile:///path}) whose quiesced state outlives the
 * process: quiesce creates {@code path.quiesced}, resume deletes it. Its cut is not live, so the
 * transfer runs inside the pause. With the property {@code hang=transfer} the transfer writes half
 * the file, prints {@code READY} and blocks: the moment a crash test kills the process; with
 * {@code hang=restore} a restore tears the file, prints {@code READY} and blocks.
 */
public final class MarkerFileProvider implements ResourceProvider {
  @Override
  public String name() {
    return "marker-file";
  }

  @Override
  public Support supports(Resource r) {
    return "testfile".equals(r.locator().getScheme()) ? Support.yes() : Support.no("scheme is not testfile");
  }

  static Path marker(Path file) {
    return file.resolveSibling(file.getFileName() + ".quiesced");
  }

  @Override
  public ResourceDriver open(Resource r, ProviderContext context) {
    Path file = Path.of(r.locator().getPath());
    boolean hang = r.property("hang").map("transfer"::equals).orElse(false);
    return new ResourceDriver() {
      @Override
      public Set<Capability> capabilities() {
        return EnumSet.of(Capability.DIFFERENTIAL_RESTORE);
      }

      @Override
      public void prepare(CaptureContext c) {
        if (!Files.isRegularFile(file)) {
          throw new io.lencap.api.NotFoundException("no file " + file);
        }
      }

      @Override
      public void quiesce() throws Exception {
        Files.write(marker(file), new byte[0]);
      }

      @Override
      public Cut cut(CaptureContext c) {
        c.method("copy-in-pause");
        return Cut.inPlace();
      }

      @Override
      public void resume() throws Exception {
        Files.deleteIfExists(marker(file));
      }

      @Override
      public void transfer(Cut cut, CaptureContext c) throws Exception {
        byte[] data = Files.readAllBytes(file);
        try (EntryWriter w = c.state().create("data", EntryKind.FILE, Map.of(), Chunking.fixed(64 * 1024))) {
          if (hang) {
            byte[] fresh = new byte[data.length / 2]; // new chunks: orphans once the process dies
            new java.util.Random().nextBytes(fresh);
            w.write(fresh, 0, fresh.length);
            System.out.println("READY");
            System.out.flush();
            new CountDownLatch(1).await();
          }
          w.write(data, 0, data.length);
        }
      }

      @Override
      public void release(Cut cut) {}

      @Override
      public void prepareRestore(RestoreContext c) {}

      @Override
      public void restore(RestoreContext c) throws Exception {
        if (c.target().property("hang").map("restore"::equals).orElse(false)) {
          Files.write(file, new byte[] {9, 9, 9}); // torn: part written in place
          System.out.println("READY");
          System.out.flush();
          new CountDownLatch(1).await();
        }
        Path temp = file.resolveSibling(file.getFileName() + ".restoring");
        try (InputStream in = c.state().open(c.state().entry("data").orElseThrow())) {
          Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    };
  }

  @Override
  public Watcher watch(Resource r, ProviderContext context) {
    Path file = Path.of(r.locator().getPath());
    return () -> Files.exists(file) ? Health.healthy() : Health.failed("file gone");
  }
}
