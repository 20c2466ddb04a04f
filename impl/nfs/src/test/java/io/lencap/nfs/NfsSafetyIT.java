package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.Zstd;
import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CaptureMode;
import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.api.UnavailableException;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.tree.UnsafeManifestException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Untrusted manifests and a dying server, against a real NFS-Ganesha: crafted manifests are refused before
 * anything is written (export and its neighbours untouched), and a server killed in the middle of a
 * transfer fails the capture cleanly, leaves no checkpoint, and a later capture works once it is back.
 */
class NfsSafetyIT {
  @RegisterExtension
  static final GaneshaServer SERVER = new GaneshaServer("a", "b");

  @TempDir
  Path store;
  @TempDir
  Path work;

  @BeforeEach
  void freshExports() throws Exception {
    for (String e : List.of("a", "b")) {
      try (Stream<Path> s = Files.list(SERVER.dir(e))) {
        s.forEach(GaneshaServer::deleteTree);
      }
    }
    Files.writeString(SERVER.dir("a").resolve("keep.txt"), "the export's own content");
    Files.createDirectories(SERVER.dir("a").resolve("d"));
    Files.writeString(SERVER.dir("b").resolve("neighbour.txt"), "another export");
  }

  /** One crafted tree per case: a harmless entry first, then the attack. */
  static Stream<Object[]> craftedManifests() {
    return Stream.of(
        new Object[] {"traversal name", List.of(file("../b/pwned"))},
        new Object[] {"traversal inside a path", List.of(dir("x"), file("x/../../b/pwned"))},
        new Object[] {"absolute path", List.of(file("/tmp/lencap-pwned"))},
        new Object[] {"empty name", List.of(dir("x"), file("x//pwned"))},
        new Object[] {"NUL in a name", List.of(file("pw\0ned"))},
        new Object[] {"absolute symlink", List.of(link("etc", "/etc"))},
        new Object[] {"symlink climbing out", List.of(link("up", "../b"))},
        new Object[] {"symlink chain climbing out", List.of(dir("d"), link("d/up", ".."), link("d/x", "up/../b"))},
        new Object[] {"symlink climbing out after a chain", List.of(link("c0", "d"), link("c1", "c0/.."),
            link("x", "c1/../b"))},
        new Object[] {"write through a symlink", List.of(link("l", "d"), file("l/pwned"))});
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("craftedManifests")
  void aCraftedManifestIsRefusedBeforeAnythingIsWritten(String attack, List<Map<String, Object>> entries)
      throws Exception {
    TreeMap<String, String> exportBefore = LocalTree.walk(SERVER.dir("a"));
    TreeMap<String, String> neighbourBefore = LocalTree.walk(SERVER.dir("b"));
    StoredState crafted = craft(entries);
    Resource target = nas(SERVER.locator("a"));
    try (ResourceDriver d = new NfsProvider().open(target, context())) {
      var ctx = new ResourceProviderContract.TckRestoreContext(target, target, crafted);
      UnsafeManifestException e = assertThrows(UnsafeManifestException.class, () -> {
        d.prepareRestore(ctx);
        d.restore(ctx);
      });
      assertTrue(e.getMessage().contains("refused before writing anything"), e.getMessage());
    }
    assertEquals(exportBefore, LocalTree.walk(SERVER.dir("a")), attack + ": the export changed");
    assertEquals(neighbourBefore, LocalTree.walk(SERVER.dir("b")), attack + ": the neighbour export changed");
    assertTrue(!Files.exists(Path.of("/tmp/lencap-pwned")), attack + ": wrote outside");
  }

  @Test
  void aTamperedCheckpointInTheStoreIsRefusedThroughTheEngine() throws Exception {
    Encapsulation job = Encapsulation.builder("tamper").resource(nas(SERVER.locator("a"))).build();
    Checkpoint cp;
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      cp = lencap.capture(job).join();
    }
    // Rewrite the stored manifest: the file keep.txt now claims to live in the neighbouring export.
    Path manifest = store.resolve("checkpoints/tamper/" + cp.id());
    byte[] stored = Files.readAllBytes(manifest);
    byte[] json = stored[0] == 0 ? java.util.Arrays.copyOfRange(stored, 1, stored.length)
        : Zstd.decompress(java.util.Arrays.copyOfRange(stored, 1, stored.length),
            (int) Zstd.getFrameContentSize(java.util.Arrays.copyOfRange(stored, 1, stored.length)));
    ObjectMapper mapper = new ObjectMapper();
    JsonNode root = mapper.readTree(json);
    boolean changed = false;
    for (JsonNode e : root.get("members").get(0).get("entries")) {
      if (e.get("path").asText().equals("keep.txt")) {
        ((ObjectNode) e).put("path", "../b/keep.txt");
        changed = true;
      }
    }
    assertTrue(changed, "keep.txt not found in the manifest");
    byte[] tampered = mapper.writeValueAsBytes(root);
    byte[] out = new byte[tampered.length + 1];
    System.arraycopy(tampered, 0, out, 1, tampered.length); // format byte 0: raw
    Files.write(manifest, out);

    Files.writeString(SERVER.dir("a").resolve("keep.txt"), "changed after the capture");
    TreeMap<String, String> exportBefore = LocalTree.walk(SERVER.dir("a"));
    TreeMap<String, String> neighbourBefore = LocalTree.walk(SERVER.dir("b"));
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      CompletionException e = assertThrows(CompletionException.class, () -> lencap.restore(job, cp.id()).join());
      assertTrue(chain(e).contains("../b/keep.txt") && chain(e).contains("refused before writing anything"),
          chain(e));
    }
    assertEquals(exportBefore, LocalTree.walk(SERVER.dir("a")));
    assertEquals(neighbourBefore, LocalTree.walk(SERVER.dir("b")));
  }

  @Test
  void twoSymlinksPointingAtEachOtherAreCapturedAndRestoredAsTheLinksTheyAre() throws Exception {
    Path a = SERVER.dir("a");
    Files.createSymbolicLink(a.resolve("la"), Path.of("lb"));
    Files.createSymbolicLink(a.resolve("lb"), Path.of("la"));
    Files.createSymbolicLink(a.resolve("d/deep"), Path.of("../d/deep/x"));
    TreeMap<String, String> captured = LocalTree.walk(a);
    Encapsulation job = Encapsulation.builder("loop").resource(nas(SERVER.locator("a"))).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      Checkpoint cp = lencap.capture(job).join();
      Files.delete(a.resolve("la"));
      Files.delete(a.resolve("lb"));
      Files.createSymbolicLink(a.resolve("lb"), Path.of("keep.txt"));
      lencap.restore(job, cp.id()).join();
    }
    assertEquals(Path.of("lb"), Files.readSymbolicLink(a.resolve("la")));
    assertEquals(Path.of("la"), Files.readSymbolicLink(a.resolve("lb")));
    assertEquals(captured, LocalTree.walk(a));
  }

  @Test
  void aCaptureWhoseSymlinkLeadsOutsideFailsNamingItAndCommitsNothing() throws Exception {
    Files.createSymbolicLink(SERVER.dir("a").resolve("d/out"), Path.of("../../b/neighbour.txt"));
    Encapsulation job = Encapsulation.builder("escape").resource(nas(SERVER.locator("a"))).build();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      CompletionException e = assertThrows(CompletionException.class, () -> lencap.capture(job).join());
      assertTrue(chain(e).contains(
          "entry 'd/out': symlink target '../../b/neighbour.txt' leads outside the tree's root"), chain(e));
      assertEquals(List.of(), lencap.checkpoints("escape").join(), "an unrestorable checkpoint was committed");
    }
  }

  @Test
  void aServerKilledInTheMiddleOfATransferFailsCleanlyAndLeavesNoCheckpoint() throws Exception {
    Path a = SERVER.dir("a");
    for (int i = 0; i < 48; i++) {
      new TreeMaker(i).file(a.resolve("d").resolve("big" + i), 4 << 20);
    }
    Encapsulation job = Encapsulation.builder("killed")
        .resource(Resource.builder("nas").type(ResourceType.FILE_TREE).locator(SERVER.locator("a"))
            .property("threads", "1").build())
        .policy(ResiliencyPolicy.builder().mode(CaptureMode.BLOCKING).build()).build();
    AtomicBoolean killed = new AtomicBoolean();
    try (Lencap lencap = Lencap.builder().store(store).build()) {
      lencap.addListener(event -> {
        if (event instanceof LencapEvent.Progress p && p.bytesDone() > (16 << 20) && killed.compareAndSet(false, true)) {
          new Thread(() -> {
            try {
              SERVER.kill();
            } catch (InterruptedException ie) {
              Thread.currentThread().interrupt();
            }
          }).start();
        }
      });
      CompletionException e = assertThrows(CompletionException.class, () -> lencap.capture(job).join());
      assertTrue(killed.get(), "the capture ended before the server was killed");
      CaptureAbortedException aborted = assertInstanceOf(CaptureAbortedException.class, e.getCause());
      assertTrue(chain(aborted).contains("lost the NFS server") || hasCause(aborted, UnavailableException.class),
          chain(aborted));
      assertEquals(List.of(), lencap.checkpoints("killed").join(), "a checkpoint was committed");
      assertTrue(!Files.exists(store.resolve("checkpoints/killed")) || isEmpty(store.resolve("checkpoints/killed")));

      SERVER.restart();
      Checkpoint cp = lencap.capture(job).join(); // the client reconnects to the restarted server
      assertEquals(List.of(cp.id()), lencap.checkpoints("killed").join().stream().map(Checkpoint::id).toList());
      assertEquals(48L * (4 << 20) + "the export's own content".length(), cp.logicalBytes());
    } finally {
      SERVER.restart();
    }
  }

  // ---- crafting ----

  private static Map<String, Object> file(String path) {
    return Map.of("path", path, "kind", EntryKind.FILE);
  }

  private static Map<String, Object> dir(String path) {
    return Map.of("path", path, "kind", EntryKind.DIRECTORY);
  }

  private static Map<String, Object> link(String path, String target) {
    return Map.of("path", path, "kind", EntryKind.SYMLINK, "target", target);
  }

  private static StoredState craft(List<Map<String, Object>> entries) throws Exception {
    MemoryState s = new MemoryState(new MemoryState.Chunks(), "crafted");
    Map<String, String> meta = Map.of("mode", "644", "uid", "0", "gid", "0", "atime", "0", "mtime", "0", "ctime", "0",
        "fileid", "1");
    meta.forEach((k, v) -> s.attribute("root." + k, v));
    try (var w = s.create("good.txt", EntryKind.FILE, meta, io.lencap.spi.Chunking.contentDefined())) {
      w.write("harmless".getBytes(StandardCharsets.UTF_8), 0, 8);
    }
    for (Map<String, Object> e : entries) {
      Map<String, String> attrs = new HashMap<>(meta);
      if (e.containsKey("target")) {
        attrs.put("target", (String) e.get("target"));
      }
      EntryKind kind = (EntryKind) e.get("kind");
      try (var w = s.create((String) e.get("path"), kind, attrs, io.lencap.spi.Chunking.contentDefined())) {
        if (kind == EntryKind.FILE) {
          w.write("pwned".getBytes(StandardCharsets.UTF_8), 0, 5);
        }
      }
    }
    return s.seal();
  }

  private ProviderContext context() {
    return new ProviderContext() {
      @Override
      public Path workDirectory() {
        return work;
      }

      @Override
      public Clock clock() {
        return Clock.systemUTC();
      }
    };
  }

  private static Resource nas(String locator) {
    return Resource.builder("nas").type(ResourceType.FILE_TREE).locator(locator).build();
  }

  private static String chain(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isEmpty(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

}
