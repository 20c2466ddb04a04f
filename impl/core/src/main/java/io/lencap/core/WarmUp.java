package io.lencap.core;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.spi.EngineSettings;
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
import io.lencap.spi.StoredEntry;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link io.lencap.api.Lencap#warmUp}: a capture, a second capture after scattered changes and a restore of a
 * synthetic member, through the engine's own protocol, into a temporary local store deleted after. The member holds
 * what real ones put through the data paths: small files (content-defined chunks, packs), a volume in fixed chunks
 * (random, compressible and zero parts), and in its second generation scattered 4 KiB changes (block deltas).
 * Its restore checks every byte against what was captured, so a warm-up that completes has also proved the paths.
 */
final class WarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
  static final String SCHEME = "lencap-warm-up";
  private static final int SMALL_FILES = 400;
  private static final int VOLUME_BYTES = 16 << 20;
  private static final int CHANGED_BLOCKS = 64;

  private WarmUp() {}

  /** Starts a warm-up on a daemon thread of its own, in a temporary directory under {@code parent}. */
  static CompletableFuture<Void> start(Path parent) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        run(parent);
        done.complete(null);
      } catch (Throwable e) {
        done.completeExceptionally(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
      }
    }, "lencap-warm-up");
    t.setDaemon(true);
    t.start();
    return done;
  }

  static CompletableFuture<Void> start() {
    return start(Path.of(System.getProperty("java.io.tmpdir")));
  }

  static void run(Path parent) throws IOException {
    long started = System.nanoTime();
    Path dir = Files.createTempDirectory(parent, "lencap-warm-up");
    try {
      EngineSettings settings = new EngineSettings(dir.resolve("store").toUri(), Map.of(), Map.of(), Optional.empty(),
          List.of(), Clock.systemUTC());
      Synthetic member = new Synthetic();
      try (Engine engine = Engine.open(settings, new ProviderRegistry(List.of(member)))) {
        Encapsulation group = Encapsulation.builder("warm-up")
            .resource(Resource.of("synthetic", ResourceType.BLOCK_VOLUME, SCHEME + ":/member")).build();
        engine.capture(group).join();
        member.generation.set(1);
        Checkpoint second = engine.capture(group).join();
        engine.restore(group, second.id()).join();
      }
    } finally {
      // Ours alone (a temporary directory is private to its owner): nobody can plant a link in it.
      MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE);
    }
    LOG.info("warm-up: two captures and a restore of a synthetic member in {} ms",
        (System.nanoTime() - started) / 1_000_000);
  }

  /** The member: its content is a function of its generation, so that its restore can check every byte. */
  private static final class Synthetic implements ResourceProvider {
    final AtomicInteger generation = new AtomicInteger();

    @Override
    public String name() {
      return "warm-up";
    }

    @Override
    public Support supports(Resource r) {
      return SCHEME.equals(r.locator().getScheme()) ? Support.yes() : Support.no("scheme is not " + SCHEME);
    }

    @Override
    public Watcher watch(Resource r, ProviderContext context) {
      return Health::healthy;
    }

    @Override
    public ResourceDriver open(Resource r, ProviderContext context) {
      return new ResourceDriver() {
        @Override
        public Set<Capability> capabilities() {
          return EnumSet.of(Capability.LIVE_CUT);
        }

        @Override
        public void prepare(CaptureContext c) {}

        @Override
        public void quiesce() {}

        @Override
        public Cut cut(CaptureContext c) {
          c.method("synthetic");
          return Cut.live(Map.of("generation", Integer.toString(generation.get())));
        }

        @Override
        public void resume() {}

        @Override
        public void transfer(Cut cut, CaptureContext c) throws IOException {
          int g = Integer.parseInt(cut.artefacts().get("generation"));
          for (int i = 0; i < SMALL_FILES; i++) {
            try (EntryWriter w = c.state().create("files/" + i, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
              byte[] b = smallFile(i, g);
              w.write(b, 0, b.length);
            }
          }
          byte[] volume = volume(g);
          try (EntryWriter w = c.state().create("volume", EntryKind.FILE, Map.of(), Chunking.fixed(256 << 10))) {
            for (int at = 0; at < volume.length; at += 1 << 20) {
              w.write(volume, at, Math.min(1 << 20, volume.length - at));
            }
          }
        }

        @Override
        public void release(Cut cut) {}

        @Override
        public void prepareRestore(RestoreContext c) {}

        @Override
        public void restore(RestoreContext c) throws IOException {
          int g = generation.get();
          for (int i = 0; i < SMALL_FILES; i++) {
            check(c, "files/" + i, smallFile(i, g));
          }
          check(c, "volume", volume(g));
        }
      };
    }

    private static void check(RestoreContext c, String path, byte[] expected) throws IOException {
      StoredEntry e = c.state().entry(path).orElseThrow(() -> new LencapException("warm-up: no entry " + path));
      try (InputStream in = c.state().open(e)) {
        if (!Arrays.equals(in.readAllBytes(), expected)) {
          throw new LencapException("warm-up: " + path + " restored other bytes than were captured");
        }
      }
    }

    /** 1-8 KiB of random bytes; one file in ten changes in each generation. */
    private static byte[] smallFile(int i, int generation) {
      byte[] b = new byte[1024 + (i * 2_903) % (7 * 1024)];
      new SplittableRandom(i % 10 == 0 ? i + 1_000_000L * generation : i).nextBytes(b);
      return b;
    }

    /** Half random, a quarter text, a quarter zeros; scattered 4 KiB blocks rewritten in each later generation. */
    private static byte[] volume(int generation) {
      byte[] v = new byte[VOLUME_BYTES];
      SplittableRandom random = new SplittableRandom(42);
      random.nextBytes(v);
      byte[] line = "a line of a log that compresses well, as logs and databases' pages do\n"
          .getBytes(StandardCharsets.US_ASCII);
      for (int at = VOLUME_BYTES / 2; at < VOLUME_BYTES * 3 / 4; at++) {
        v[at] = line[at % line.length];
      }
      Arrays.fill(v, VOLUME_BYTES * 3 / 4, VOLUME_BYTES, (byte) 0);
      SplittableRandom changes = new SplittableRandom(7);
      byte[] block = new byte[4096];
      for (int g = 1; g <= generation; g++) {
        for (int n = 0; n < CHANGED_BLOCKS; n++) {
          changes.nextBytes(block);
          System.arraycopy(block, 0, v, changes.nextInt(VOLUME_BYTES / 4096) * 4096, 4096);
        }
      }
      return v;
    }
  }
}
