package io.lencap.samples.provider;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Capability;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.Discarder;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How to write a provider, as small as one can be: one regular file ({@code onefile:///path/to/state.bin},
 * type {@code tree}), such as a job's checkpoint file or configuration. A provider is this class, one line
 * in {@code META-INF/services/io.lencap.spi.ResourceProvider} and one {@code provides ... with} in
 * {@code module-info.java}; its test extends the SPI's TCK ({@code ResourceProviderContract}).
 *
 * <p>The engine calls the driver's phases in order: {@code prepare} (check, connect), {@code quiesce} (stop
 * writers), {@code cut} (the recovery line), {@code resume}, {@code transfer} (copy into the store), {@code
 * release}. This one has nothing to stop and no snapshot to take, so its cut is not live: the engine keeps
 * the group paused while {@code transfer} copies the file, and the copy is consistent. The store chunks,
 * hashes, compresses and deduplicates what the driver writes. Restore writes a new file beside the old one
 * and renames it into place, so a crash never leaves half a file. Real providers for directories and NFS
 * exports are {@code lencap-localdir} and {@code lencap-nfs}.
 */
public final class SingleFileProvider implements ResourceProvider {
  static final String SCHEME = "onefile";
  /** The one entry of the member's state. */
  static final String ENTRY = "content";

  @Override
  public String name() {
    return "single-file";
  }

  /** Says yes only to what it can capture, and why not otherwise: the engine lists every provider's reason. */
  @Override
  public Support supports(Resource resource) {
    if (!SCHEME.equals(resource.locator().getScheme())) {
      return Support.no("scheme is not " + SCHEME + " (" + SCHEME + ":///path/to/file)");
    }
    return resource.type() == ResourceType.FILE_TREE ? Support.yes() : Support.no("type is not tree");
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    return new Driver(file(resource));
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    Path file = file(resource);
    return () -> Files.isRegularFile(file) ? Health.healthy() : Health.failed(file + " is missing");
  }

  /** A drill's sandbox copy is one file: removing it is deleting it (gone already is fine). */
  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    Path file = file(restored);
    return Optional.of(() -> Files.deleteIfExists(file));
  }

  private static Path file(Resource resource) {
    String path = resource.locator().getPath();
    if (path == null || !path.startsWith("/")) {
      throw new InvalidSpecException("resources[" + resource.id() + "].locator", "needs an absolute path");
    }
    return Path.of(path);
  }

  /** One file through one capture or restore. */
  private static final class Driver implements ResourceDriver {
    private final Path file;

    Driver(Path file) {
      this.file = file;
    }

    @Override
    public Set<Capability> capabilities() {
      return EnumSet.of(Capability.RESTORE_ELSEWHERE);
    }

    @Override
    public void prepare(CaptureContext context) throws IOException {
      if (!Files.isRegularFile(file)) {
        throw new IOException(file + " is not a regular file");
      }
    }

    @Override
    public void quiesce() {} // nothing to stop: the group's writers are quiesced before their storage

    @Override
    public Cut cut(CaptureContext context) {
      context.method("copy-in-pause");
      return Cut.inPlace(); // not live: the engine keeps the group paused until transfer is done
    }

    @Override
    public void resume() {}

    @Override
    public void transfer(Cut cut, CaptureContext context) throws IOException {
      context.state().expectBytes(Files.size(file));
      try (InputStream in = Files.newInputStream(file);
          EntryWriter out = context.state().create(ENTRY, EntryKind.FILE, Map.of(), Chunking.contentDefined())) {
        in.transferTo(out.asStream());
      }
    }

    @Override
    public void release(Cut cut) {} // the cut made nothing to clean up

    /** Refuses a state this driver did not write: the engine runs it before it commits a capture. */
    @Override
    public void validate(StoredState state) {
      if (state.entries().size() != 1 || state.entry(ENTRY).filter(e -> e.kind() == EntryKind.FILE).isEmpty()) {
        throw new IllegalArgumentException("checkpoint " + state.checkpointId() + " does not hold one file '"
            + ENTRY + "'");
      }
    }

    @Override
    public void prepareRestore(RestoreContext context) throws IOException {
      validate(context.state());
      for (var chunk : context.state().entry(ENTRY).orElseThrow().chunks()) {
        context.state().read(chunk); // verified: a corrupt checkpoint fails before any member is written
      }
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
      StoredEntry entry = context.state().entry(ENTRY).orElseThrow();
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), ".lencap-", ".tmp");
      try (InputStream in = context.state().open(entry)) {
        Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(temp);
      }
      context.progress(entry.size(), entry.size());
    }
  }
}
