package io.lencap.spi.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Cut;
import io.lencap.spi.Discarder;
import io.lencap.spi.Health;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredState;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The provider TCK: contract tests every provider module extends with a real resource. It drives the
 * phases the way the engine does (see docs/DESIGN.md) over an in-memory store, so a provider that passes
 * works under the engine. Subclasses supply the provider, a fresh resource, a way to change it and a
 * fingerprint of its observable state (content hash, counter value).
 */
public abstract class ResourceProviderContract {
  @TempDir
  protected Path workDirectory;

  /** A new instance of the provider under test. */
  protected abstract ResourceProvider provider();

  private @Nullable ResourceProvider underTest;

  /** The provider this test drives: one instance per test, closed after it, as the engine closes its own. */
  private ResourceProvider underTest() {
    ResourceProvider p = underTest;
    if (p == null) {
      p = provider();
      underTest = p;
    }
    return p;
  }

  @AfterEach
  void closeProvider() {
    ResourceProvider p = underTest;
    underTest = null;
    if (p != null) {
      p.close();
    }
  }

  /** A resource the provider supports, in a known state; called once per test. */
  protected abstract Resource resource() throws Exception;

  /** Changes the resource's observable state. */
  protected abstract void mutate(Resource resource) throws Exception;

  /** The resource's observable state: equal fingerprints mean equal state. */
  protected abstract String fingerprint(Resource resource) throws Exception;

  /** Makes the resource stable for fingerprinting after a restore (a VM restored paused: resume it). */
  protected void settle(Resource resource) throws Exception {}

  /** Most a capture with nothing changed may add to the store, as a fraction of the first capture. */
  protected double maxUnchangedRecaptureRatio() {
    return 0.10;
  }

  /**
   * A second resource of the same kind, apart from {@code original}, that a restore may create and a
   * {@link Discarder} remove (a new directory, a new domain name in a directory of its own, another LUN), as a
   * drill's sandbox; empty (the default) for a provider that offers no discarder.
   */
  protected Optional<Resource> sandbox(Resource original) throws Exception {
    return Optional.empty();
  }

  /**
   * Fails unless a discarded sandbox is gone. By default a probe no longer finds it healthy; a provider whose
   * resources outlive a discard (a LUN, which is zeroed) checks what removal means for it.
   */
  protected void assertDiscarded(Resource sandbox) throws Exception {
    assertNotEquals(Health.Status.HEALTHY, probe(sandbox).status(), "the discarded " + sandbox + " still probes healthy");
  }

  protected ProviderContext context() {
    return providerContext(workDirectory);
  }

  /** A provider context over a work directory, for tests that drive a driver phase by phase. */
  public static ProviderContext providerContext(Path workDirectory) {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return workDirectory;
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  @Test
  void namesItself() {
    assertNotNull(underTest().name());
    assertFalse(underTest().name().isBlank());
  }

  @Test
  void supportsItsResource() throws Exception {
    Resource r = resource();
    Support s = underTest().supports(r);
    assertTrue(s.supported(), () -> "declined its own resource: " + s.reason());
  }

  @Test
  void declinesAForeignResourceSayingWhy() throws Exception {
    Resource mine = resource();
    for (ResourceType type : ResourceType.values()) {
      Resource foreign = Resource.builder("foreign").type(type).locator("lencap-tck-unknown://nowhere/x").build();
      Support s = underTest().supports(foreign);
      assertFalse(s.supported(), "accepted " + foreign);
      assertFalse(s.reason() == null || s.reason().isBlank(), "declined without a reason");
    }
    assertTrue(underTest().supports(mine).supported());
  }

  @ParameterizedTest
  @EnumSource(CaptureMode.class)
  void restoreBringsBackTheCapturedState(CaptureMode mode) throws Exception {
    Resource r = resource();
    MemoryState.Chunks chunks = new MemoryState.Chunks();
    Captured first = capture(r, mode, chunks, "cp1", Optional.empty());
    String captured = first.fingerprintAtCut;
    mutate(r);
    assertNotEquals(captured, fingerprint(r), "mutate() did not change the fingerprint");
    restore(r, r, first.state);
    settle(r);
    assertEquals(captured, fingerprint(r), "restored state differs from the captured one");
  }

  @Test
  void aSecondCaptureOfUnchangedStateStoresLittle() throws Exception {
    Resource r = resource();
    MemoryState.Chunks chunks = new MemoryState.Chunks();
    Captured first = capture(r, CaptureMode.NON_BLOCKING, chunks, "cp1", Optional.empty());
    Captured second = capture(r, CaptureMode.NON_BLOCKING, chunks, "cp2", Optional.of(first.state));
    assertTrue(first.newBytes > 0, "the first capture stored nothing");
    assertTrue(second.newBytes <= first.newBytes * maxUnchangedRecaptureRatio(),
        "second capture stored " + second.newBytes + " bytes of " + first.newBytes);
  }

  @Test
  void resumeAndReleaseAreIdempotent() throws Exception {
    Resource r = resource();
    try (ResourceDriver d = underTest().open(r, context())) {
      d.resume();
      CaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp1", Optional.empty(),
          new MemoryState(new MemoryState.Chunks(), "cp1"));
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.resume();
      d.release(cut);
      d.release(cut);
    }
    assertEquals(Health.Status.HEALTHY, probe(r).status());
  }

  @Test
  void anAbortAfterTheCutLeavesTheResourceWorking() throws Exception {
    Resource r = resource();
    String before = fingerprint(r);
    try (ResourceDriver d = underTest().open(r, context())) {
      CaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp1", Optional.empty(),
          new MemoryState(new MemoryState.Chunks(), "cp1"));
      d.prepare(ctx);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.release(cut); // aborted: no transfer
    }
    assertEquals(Health.Status.HEALTHY, probe(r).status());
    mutate(r);
    assertNotEquals(before, fingerprint(r), "the resource no longer accepts changes after an abort");
  }

  @Test
  void aCorruptChunkFailsTheRestore() throws Exception {
    Resource r = resource();
    MemoryState.Chunks chunks = new MemoryState.Chunks();
    Captured first = capture(r, CaptureMode.NON_BLOCKING, chunks, "cp1", Optional.empty());
    List<String> all = first.state.entries().stream().flatMap(e -> e.chunks().stream()).map(c -> c.id())
        .distinct().toList();
    assertFalse(all.isEmpty(), "the capture wrote no chunk");
    all.forEach(chunks::corrupt); // whatever chunk the restore reads is bad
    mutate(r); // so that even a differential restore must read some
    assertThrows(CorruptCheckpointException.class, () -> restore(r, r, first.state));
  }

  /**
   * A provider that offers a {@link Discarder} proves it on its {@link #sandbox}; one without a sandbox must offer
   * none. A subclass whose test component cannot restore elsewhere overrides this (without {@code @Test}) and says
   * where removal is tested instead.
   */
  @Test
  protected void aDiscardedRestoreIsGoneAndTheOriginalUntouched() throws Exception {
    Resource r = resource();
    Optional<Resource> sandbox = sandbox(r);
    if (sandbox.isEmpty()) {
      assertTrue(underTest().discarder(r, context()).isEmpty(), underTest().name()
          + " offers a discarder: give sandbox() so that the contract proves it");
      return;
    }
    Resource s = sandbox.get();
    Captured first = capture(r, CaptureMode.NON_BLOCKING, new MemoryState.Chunks(), "cp1", Optional.empty());
    String original = fingerprint(r);
    restore(r, s, first.state);
    settle(s);
    assertNotEquals(Health.Status.FAILED, probe(s).status(), "the restored sandbox does not probe healthy");
    Discarder d = underTest().discarder(s, context()).orElseThrow(() -> new AssertionError("no discarder for " + s));
    d.discard();
    assertDiscarded(s);
    underTest().discarder(s, context()).orElseThrow().discard(); // gone already: still succeeds
    assertEquals(original, fingerprint(r), "discarding the sandbox changed the original");
    assertEquals(Health.Status.HEALTHY, probe(r).status(), "discarding the sandbox hurt the original");
  }

  /**
   * A resource is its own target and its {@link #sandbox} is not ({@link ResourceProvider#sameTarget}): a drill
   * refuses a sandbox that is a member and would restore over it otherwise.
   */
  @Test
  void aResourceIsItsOwnTargetAndItsSandboxIsNot() throws Exception {
    Resource r = resource();
    assertTrue(underTest().sameTarget(r, r), underTest().name() + " does not take " + r + " for itself");
    Optional<Resource> sandbox = sandbox(r);
    if (sandbox.isPresent()) {
      Resource s = sandbox.get();
      assertFalse(underTest().sameTarget(s, r), underTest().name() + " takes the sandbox " + s + " for " + r);
      assertFalse(underTest().sameTarget(r, s), underTest().name() + " takes " + r + " for the sandbox " + s);
    }
  }

  @Test
  void probeSeesAHealthyResource() throws Exception {
    assertEquals(Health.Status.HEALTHY, probe(resource()).status());
  }

  // ---- the engine's order of calls, in miniature ----

  /** The result of {@link #capture}: the stored state and what the resource looked like at the cut. */
  protected record Captured(StoredState state, String fingerprintAtCut, long newBytes, long logicalBytes) {}

  protected Captured capture(Resource r, CaptureMode mode, MemoryState.Chunks chunks, String id,
      Optional<StoredState> parent) throws Exception {
    MemoryState sink = new MemoryState(chunks, id);
    TckCaptureContext ctx = new TckCaptureContext(r, mode, id, parent, sink);
    String atCut;
    try (ResourceDriver d = underTest().open(r, context())) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut;
      try {
        cut = d.cut(ctx);
        if (mode == CaptureMode.BLOCKING || !cut.live()) {
          d.transfer(cut, ctx);
        }
      } finally {
        d.resume();
      }
      atCut = fingerprintOfCut(r, sink);
      try {
        if (mode == CaptureMode.NON_BLOCKING && cut.live()) {
          d.transfer(cut, ctx);
        }
      } finally {
        d.release(cut);
      }
    }
    return new Captured(sink.seal(), atCut, sink.newBytes(), sink.logicalBytes());
  }

  /**
   * The fingerprint the restored resource must show. By default the state right after the capture
   * (true for resources that do not change on their own); a running VM overrides this.
   */
  protected String fingerprintOfCut(Resource r, MemoryState sink) throws Exception {
    return fingerprint(r);
  }

  protected void restore(Resource captured, Resource target, StoredState state) throws Exception {
    try (ResourceDriver d = underTest().open(target, context())) {
      RestoreContext ctx = new TckRestoreContext(captured, target, state);
      d.prepareRestore(ctx);
      d.restore(ctx);
      d.resume();
    }
  }

  protected Health probe(Resource r) throws Exception {
    try (Watcher w = underTest().watch(r, context())) {
      return w.probe();
    }
  }

  /** A capture context over a {@link MemoryState}. */
  public static final class TckCaptureContext implements CaptureContext {
    private final Resource resource;
    private final CaptureMode mode;
    private final String id;
    private final Optional<StoredState> parent;
    private final StateSink sink;
    final List<String> notes = new CopyOnWriteArrayList<>();
    volatile @Nullable String method;
    volatile boolean cancelled;

    /** The method the driver reported, or null. */
    public @Nullable String method() {
      return method;
    }

    /** The notes the driver wrote. */
    public List<String> notes() {
      return List.copyOf(notes);
    }

    public TckCaptureContext(Resource resource, CaptureMode mode, String id, Optional<StoredState> parent,
        StateSink sink) {
      this.resource = resource;
      this.mode = mode;
      this.id = id;
      this.parent = parent;
      this.sink = sink;
    }

    @Override
    public String encapsulation() {
      return "tck";
    }

    @Override
    public String checkpointId() {
      return id;
    }

    @Override
    public CaptureMode mode() {
      return mode;
    }

    @Override
    public Resource resource() {
      return resource;
    }

    @Override
    public Optional<StoredState> parent() {
      return parent;
    }

    @Override
    public StateSink state() {
      return sink;
    }

    @Override
    public void method(String method) {
      this.method = method;
    }

    volatile java.time.@Nullable Duration pause;

    @Override
    public void pause(java.time.Duration measured) {
      this.pause = measured;
    }

    @Override
    public void note(String note) {
      notes.add(note);
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    /** Cancels the capture, as the engine does when it aborts one (before it releases the cuts). */
    public void cancel() {
      cancelled = true;
    }

    @Override
    public void checkCancelled() {
      if (cancelled) {
        throw new CancellationException("cancelled");
      }
    }
  }

  /** A restore context over a stored state. */
  public static final class TckRestoreContext implements RestoreContext {
    private final Resource captured;
    private final Resource target;
    private final StoredState state;
    private final Function<URI, Optional<Resource>> relocations;

    public TckRestoreContext(Resource captured, Resource target, StoredState state) {
      this(captured, target, state, locator -> Optional.empty());
    }

    /** With the other members' relocations: where each goes, by the locator it was captured at. */
    public TckRestoreContext(Resource captured, Resource target, StoredState state,
        Function<URI, Optional<Resource>> relocations) {
      this.captured = captured;
      this.target = target;
      this.state = state;
      this.relocations = relocations;
    }

    @Override
    public Optional<Resource> relocated(URI capturedLocator) {
      return relocations.apply(capturedLocator);
    }

    @Override
    public String encapsulation() {
      return "tck";
    }

    @Override
    public String checkpointId() {
      return state.checkpointId();
    }

    @Override
    public Resource captured() {
      return captured;
    }

    @Override
    public Resource target() {
      return target;
    }

    @Override
    public StoredState state() {
      return state;
    }

    @Override
    public void progress(long bytesDone, long totalBytes) {}

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void checkCancelled() {}
  }
}
