package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Chunking;
import io.lencap.spi.Cut;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.Health;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StateSink;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract.TckCaptureContext;
import io.lencap.spi.tck.ResourceProviderContract.TckRestoreContext;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Capture behaviour the TCK does not pin down: pre-copy, the final pass, the marker, reuse from the parent. */
class LocalDirectoryCaptureTest {
  @TempDir
  Path dir;

  private final MemoryState.Chunks chunks = new MemoryState.Chunks();

  private Resource tree(Path root) {
    return Resource.of("tree", ResourceType.FILE_TREE, root.toUri().toString());
  }

  /**
   * A driver whose wall clock runs a second ahead, as if each capture ran a second after the test last
   * wrote the tree: files written or aged just before are not racily fresh (their ctime, which aging sets
   * to now, would otherwise be within the racy window of a fast machine's capture).
   */
  private ResourceDriver open(Resource r) {
    return new LocalDirectoryDriver(r, LocalDirectoryProvider.root(r), false, 4,
        Clock.offset(Clock.systemUTC(), Duration.ofSeconds(1)));
  }

  @Test
  void theFinalPassCatchesWhatChangedAfterThePreCopy() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 1);
    Resource r = tree(root);
    MemoryState sink = new MemoryState(chunks, "cp1");
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", Optional.empty(), sink);
    try (ResourceDriver d = open(r)) {
      d.prepare(ctx);
      // The tree keeps changing after the pre-copy: an edit, a deletion, a new file, a file turned into a directory.
      Files.writeString(root.resolve("docs/note-7.txt"), "edited after the pre-copy");
      Files.delete(root.resolve("docs/note-8.txt"));
      Files.writeString(root.resolve("docs/late.txt"), "created after the pre-copy");
      Files.delete(root.resolve("a/small.bin"));
      Files.createDirectory(root.resolve("a/small.bin"));
      Map<String, String> atCut = TreeState.fingerprint(root);
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      d.release(cut);
      assertEquals(LocalDirectoryDriver.METHOD, ctx.method());
      StoredState state = sink.seal();
      assertFalse(state.entry("docs/note-8.txt").isPresent(), "a file deleted before the cut is still stored");
      assertEquals(EntryKind.DIRECTORY, state.entry("a/small.bin").orElseThrow().kind());
      assertEquals(EntryKind.SYMLINK, state.entry("docs-link").orElseThrow().kind());
      assertEquals("docs", state.entry("docs-link").orElseThrow().attribute("target").orElseThrow());

      Path elsewhere = dir.resolve("restored");
      Resource target = tree(elsewhere);
      try (ResourceDriver rd = open(target)) {
        TckRestoreContext rctx = new TckRestoreContext(r, target, state);
        rd.prepareRestore(rctx);
        rd.restore(rctx);
      }
      assertEquals(atCut, TreeState.fingerprint(elsewhere));
    }
  }

  @Test
  void aTreeChurnedDuringThePreCopyIsCapturedAsItWasAtTheCut() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 6);
    ChurningWriter writer = new ChurningWriter(root, 6, 300);
    Thread thread = new Thread(writer, "churning-writer");
    thread.start();
    Resource r = tree(root);
    MemoryState sink = new MemoryState(chunks, "cp1");
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", Optional.empty(), sink);
    try (ResourceDriver d = open(r)) {
      assertTrue(writer.warm.await(60, TimeUnit.SECONDS), "the writer did not get going");
      d.prepare(ctx); // while the writer keeps going
      d.quiesce();
      assertTrue(writer.stopped.await(60, TimeUnit.SECONDS), "the writer did not honour the marker");
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      d.release(cut);
    } finally {
      writer.halt = true;
      thread.join();
    }
    assertEquals(null, writer.failure);
    Map<String, String> atCut = TreeState.fingerprint(root); // the writer has stopped for good
    Path elsewhere = dir.resolve("restored");
    Resource target = tree(elsewhere);
    try (ResourceDriver rd = open(target)) {
      TckRestoreContext rctx = new TckRestoreContext(r, target, sink.seal());
      rd.prepareRestore(rctx);
      rd.restore(rctx);
    }
    assertEquals(atCut, TreeState.fingerprint(elsewhere));
    assertEquals(List.of(), ctx.notes().stream().filter(n -> !n.startsWith("final pass in the pause")
        && !n.startsWith("pre-copy in ")).toList(), "nothing but the passes' summaries should be noted");
  }

  @Test
  void aTreeWrittenJustBeforeThePreCopyIsReadAgainBeforeThePauseNotInIt() throws Exception {
    Path root = Files.createDirectories(dir.resolve("t"));
    Instant newest = freshFiles(root);
    // The clock stands at the newest file's change until the first pass has read every file (they are racily clean
    // when it reads them), then every reading is 10 s later: no longer recent after it.
    CountingSink sink = new CountingSink(new MemoryState(chunks, "cp"));
    AtomicInteger readings = new AtomicInteger();
    Passes ticked = capturePasses(root, sink, clock(() -> sink.createdFiles.size() < FRESH_FILES ? newest
        : newest.plusSeconds(10L * readings.incrementAndGet())));
    assertTrue(ticked.preCopyNotes().get(0).startsWith("pre-copy in 2 passes: "), ticked.toString());
    assertEquals(List.of(), ticked.finalPassReads());
    // A clock that stands still: the newest files stay recent, another pre-copy could not trust them, the pause
    // reads them.
    Passes still = capturePasses(root, new CountingSink(new MemoryState(chunks, "cp")),
        Clock.fixed(newest, ZoneOffset.UTC));
    assertEquals(List.of(), still.preCopyNotes());
    assertFalse(still.finalPassReads().isEmpty(), still.toString());
  }

  @Test
  void aFileReadLongAfterItsLastChangeIsTrustedThoughThePassBeganSoonAfterIt() throws Exception {
    Path root = Files.createDirectories(dir.resolve("t"));
    Instant newest = freshFiles(root);
    // The pass begins at the newest change; every later reading, each file's read among them, is 10 s on.
    AtomicInteger readings = new AtomicInteger();
    Passes passes = capturePasses(root, new CountingSink(new MemoryState(chunks, "cp")),
        clock(() -> newest.plusSeconds(10L * readings.getAndIncrement())));
    assertEquals(List.of(), passes.preCopyNotes(), "read twice although each read came long after the change");
    assertEquals(List.of(), passes.finalPassReads());
  }

  private static final int FRESH_FILES = 8;

  /** Files that take longer to read than to list, written now; returns the newest one's change. */
  private static Instant freshFiles(Path root) throws IOException {
    java.util.Random random = new java.util.Random(11);
    Instant newest = Instant.EPOCH;
    for (int i = 0; i < FRESH_FILES; i++) {
      byte[] data = new byte[2 << 20];
      random.nextBytes(data);
      Path f = Files.write(root.resolve("f" + i), data);
      Instant changed = ((FileTime) Files.getAttribute(f, "unix:ctime")).toInstant();
      newest = changed.isAfter(newest) ? changed : newest;
    }
    return newest;
  }

  private static Clock clock(Supplier<Instant> readings) {
    return new Clock() {
      @Override
      public Instant instant() {
        return readings.get();
      }

      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }
    };
  }

  private record Passes(List<String> preCopyNotes, List<String> finalPassReads) {}

  private Passes capturePasses(Path root, CountingSink sink, Clock clock) throws Exception {
    Resource r = tree(root);
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", Optional.empty(), sink);
    try (ResourceDriver d = new LocalDirectoryDriver(r, LocalDirectoryProvider.root(r), false, 4, clock)) {
      d.prepare(ctx);
      List<String> notes = List.copyOf(ctx.notes());
      int read = sink.createdFiles.size();
      d.quiesce();
      Cut cut = d.cut(ctx);
      d.resume();
      d.transfer(cut, ctx);
      d.release(cut);
      return new Passes(notes, List.copyOf(sink.createdFiles.subList(read, sink.createdFiles.size())));
    }
  }

  @Test
  void theMarkerIsWrittenByQuiesceNeverStoredAndRemovedEvenByAFreshDriver() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 2);
    Path marker = root.resolve(LocalDirectoryProvider.QUIESCE_MARKER);
    Resource r = tree(root);
    MemoryState sink = new MemoryState(chunks, "cp1");
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", Optional.empty(), sink);
    ResourceDriver dying = open(r);
    dying.prepare(ctx);
    dying.quiesce();
    dying.quiesce(); // idempotent
    assertTrue(Files.readString(marker).contains("do not start a write"));
    assertEquals(Health.Status.DEGRADED, LocalDirectoryProvider.health(root).status());
    dying.cut(ctx);
    assertFalse(sink.seal().entry(LocalDirectoryProvider.QUIESCE_MARKER).isPresent());
    // The capturing process dies here: the marker stays until crash repair resumes through a fresh driver.
    assertTrue(Files.exists(marker));
    try (ResourceDriver repair = open(r)) {
      repair.resume();
      repair.resume();
      assertEquals(Health.Status.HEALTHY, LocalDirectoryProvider.health(root).status());
    }
    assertFalse(Files.exists(marker));
  }

  @Test
  void unchangedFilesAreReusedFromTheParentWithoutReading() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 3);
    SampleTree.age(root);
    Resource r = tree(root);
    StoredState first = capture(r, "cp1", Optional.empty()).seal();

    CountingSink second = capture(r, "cp2", Optional.of(first));
    StoredState secondState = second.seal();
    long files = first.entries().stream().filter(e -> e.kind() == EntryKind.FILE).count();
    assertEquals(List.of(), second.createdFiles, "files read again although unchanged");
    assertEquals(files, second.reused.size());
    assertEquals(first.entries().size(), secondState.entries().size());

    Path note = Files.writeString(root.resolve("docs/note-4.txt"), "changed");
    // The change itself is not racy: only its stamp differs (setting the time of every file, as age does,
    // would change every ctime and have them all read again).
    Files.setLastModifiedTime(note, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    CountingSink third = capture(r, "cp3", Optional.of(secondState));
    StoredState thirdState = third.seal();
    assertEquals(List.of("docs/note-4.txt"), third.createdFiles);
    StoredEntry changed = thirdState.entry("docs/note-4.txt").orElseThrow();
    assertEquals("changed", new String(thirdState.open(changed).readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void aSameSizeRewriteWithItsOldMtimePutBackIsReadAgain() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 6);
    SampleTree.age(root);
    Resource r = tree(root);
    StoredState first = capture(r, "cp1", Optional.empty()).seal();

    Path note = root.resolve("docs/note-4.txt");
    FileTime mtime = Files.getLastModifiedTime(note);
    byte[] rewritten = Files.readAllBytes(note);
    rewritten[0] ^= 0x20; // same size, other content
    Files.write(note, rewritten);
    Files.setLastModifiedTime(note, mtime); // as cp -p and touch -r do: only the ctime shows the write
    CountingSink second = capture(r, "cp2", Optional.of(first));
    StoredState secondState = second.seal();

    assertFalse(second.reused.contains("docs/note-4.txt"), "reused from the parent although rewritten");
    StoredEntry e = secondState.entry("docs/note-4.txt").orElseThrow();
    assertArrayEquals(rewritten, secondState.open(e).readAllBytes());
  }

  @Test
  void aFileWhoseTimeIsNotSafelyBeforeItsCopyIsReadAgainNextTime() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 4);
    SampleTree.age(root);
    Path fresh = Files.writeString(root.resolve("docs/fresh.txt"), "written right now");
    // Racy at every copy, whatever the machine's speed: its time is not RACY_WINDOW before the copy.
    Files.setLastModifiedTime(fresh, FileTime.from(Instant.now().plus(Duration.ofHours(1))));
    Resource r = tree(root);
    StoredState first = capture(r, "cp1", Optional.empty()).seal();
    CountingSink second = capture(r, "cp2", Optional.of(first));
    // Read again, never reused (and read once more by the final pass while it is still that fresh).
    assertTrue(second.createdFiles.contains("docs/fresh.txt"), second.createdFiles.toString());
    assertFalse(second.reused.contains("docs/fresh.txt"));
    assertEquals(List.of("docs/fresh.txt"), second.createdFiles.stream().distinct().toList());
  }

  @Test
  void specialFilesAreSkippedWithANote() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 5);
    Path socket = root.resolve("a/control.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      TckCaptureContext ctx = new TckCaptureContext(tree(root), CaptureMode.NON_BLOCKING, "cp1", Optional.empty(), new MemoryState(chunks, "cp1"));
      try (ResourceDriver d = open(tree(root))) {
        d.prepare(ctx);
        d.quiesce();
        d.cut(ctx);
        d.resume();
      }
      assertFalse(((MemoryState) ctx.state()).seal().entry("a/control.sock").isPresent());
      assertTrue(ctx.notes().stream().anyMatch(n -> n.contains("special files") && n.contains("a/control.sock")),
          ctx.notes().toString());
    }
  }

  @Test
  void aNameJavaCannotCarryFailsTheCaptureNamingItInsteadOfDroppingIt() throws Exception {
    Path root = SampleTree.create(dir.resolve("t"), 7);
    Process p = new ProcessBuilder("bash", "-c", "printf kept > \"$(printf 'docs/latin1-\\351\\377.bin')\"")
        .directory(root.toFile()).redirectErrorStream(true).start();
    assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1));
    Resource r = tree(root);
    try (ResourceDriver d = open(r)) {
      TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp1", Optional.empty(),
          new MemoryState(chunks, "cp1"));
      IOException e = assertThrows(IOException.class, () -> d.prepare(ctx));
      assertTrue(e.getMessage().contains("docs/latin1-") && e.getMessage().contains("sun.jnu.encoding"),
          e.getMessage());
    }
  }

  @Test
  void aMissingDirectoryFailsThePrepareNamingIt() throws Exception {
    Path missing = dir.resolve("no-such-tree");
    Resource r = tree(missing);
    try (ResourceDriver d = open(r)) {
      TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp1", Optional.empty(), new MemoryState(chunks, "cp1"));
      NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> d.prepare(ctx));
      assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
      assertEquals(Health.Status.FAILED, LocalDirectoryProvider.health(missing).status());
      d.resume(); // still harmless
    }
  }

  /** A whole capture, phase by phase as the engine runs it, into a counting memory state. */
  private CountingSink capture(Resource r, String id, Optional<StoredState> parent) throws Exception {
    CountingSink sink = new CountingSink(new MemoryState(chunks, id));
    TckCaptureContext ctx = new TckCaptureContext(r, CaptureMode.NON_BLOCKING, "cp", parent, sink);
    try (ResourceDriver d = open(r)) {
      d.prepare(ctx);
      d.quiesce();
      Cut cut;
      try {
        cut = d.cut(ctx);
      } finally {
        d.resume();
      }
      d.transfer(cut, ctx);
      d.release(cut);
    }
    return sink;
  }

  /** Forwards to a memory state and records which file entries were written and which reused. */
  private static final class CountingSink implements StateSink {
    final MemoryState target;
    final List<String> createdFiles = new CopyOnWriteArrayList<>();
    final List<String> reused = new CopyOnWriteArrayList<>();

    CountingSink(MemoryState target) {
      this.target = target;
    }

    StoredState seal() {
      return target.seal();
    }

    @Override
    public EntryWriter create(String path, EntryKind kind, Map<String, String> attributes, Chunking chunking)
        throws IOException {
      if (kind == EntryKind.FILE) {
        createdFiles.add(path);
      }
      return target.create(path, kind, attributes, chunking);
    }

    @Override
    public void reuse(StoredEntry entry) {
      reused.add(entry.path());
      target.reuse(entry);
    }

    @Override
    public void remove(String path) {
      target.remove(path);
    }

    @Override
    public void attribute(String key, String value) {
      target.attribute(key, value);
    }

    @Override
    public void expectBytes(long total) {}
  }
}
