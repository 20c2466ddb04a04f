package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The provider TCK against real directory trees on the local file system, plus locator checks. */
class LocalDirectoryProviderTest extends ResourceProviderContract {
  @TempDir
  Path trees;
  private int created;
  private long mutations;

  @Override
  protected ResourceProvider provider() {
    return new LocalDirectoryProvider();
  }

  @Override
  protected Resource resource() throws Exception {
    Path root = SampleTree.create(trees.resolve("tree" + created++), 42);
    return Resource.of("tree", ResourceType.FILE_TREE, root.toUri().toString());
  }

  @Override
  protected Optional<Resource> sandbox(Resource original) {
    return Optional.of(Resource.of("tree", ResourceType.FILE_TREE, trees.resolve("sandbox" + created++).toUri()
        .toString()));
  }

  @Override
  protected void assertDiscarded(Resource sandbox) throws Exception {
    super.assertDiscarded(sandbox);
    assertFalse(Files.exists(Path.of(sandbox.locator()), LinkOption.NOFOLLOW_LINKS), "the sandbox is still there");
  }

  @Test
  void aDiscardDeletesLinksNotWhatTheyLeadToAndRefusesShallowRoots() throws Exception {
    Path outside = Files.writeString(trees.resolve("outside.txt"), "keep");
    Path sandbox = Files.createDirectories(trees.resolve("restored/sub"));
    Files.createSymbolicLink(sandbox.resolve("link"), outside);
    Files.createSymbolicLink(sandbox.resolve("dirlink"), trees);
    Files.writeString(sandbox.resolve("f"), "x");
    sandbox.toFile().setWritable(false);
    Resource r = Resource.of("tree", ResourceType.FILE_TREE, trees.resolve("restored").toUri().toString());
    new LocalDirectoryProvider().discarder(r, context()).orElseThrow().discard();
    assertFalse(Files.exists(trees.resolve("restored"), LinkOption.NOFOLLOW_LINKS));
    assertEquals("keep", Files.readString(outside));
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> new LocalDirectoryProvider()
        .discarder(Resource.of("root", ResourceType.FILE_TREE, "file:///srv"), context()));
    assertEquals("resources[root].locator", e.field());
  }

  @Override
  protected void mutate(Resource resource) throws Exception {
    SampleTree.mutate(Path.of(resource.locator()), ++mutations);
  }

  @Override
  protected String fingerprint(Resource resource) throws Exception {
    return TreeState.fingerprint(Path.of(resource.locator())).toString();
  }

  @Test
  void isFoundByTheServiceLoader() {
    assertTrue(ServiceLoader.load(ResourceProvider.class).stream()
        .anyMatch(p -> p.type() == LocalDirectoryProvider.class));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "vm    | file:///srv/data          | type vm is not a tree",
      "block | file:///srv/data          | type block is not a tree",
      "tree  | nfs://host/export         | scheme nfs is not file",
      "tree  | file://otherhost/srv/data | names a host",
      "tree  | file:///srv/data?x=1      | has a query or fragment",
      "tree  | file:relative/dir         | has no absolute path"})
  void declinesWhatItCannotCaptureSayingWhy(String type, String locator, String reason) {
    Resource r = Resource.builder("r").type(type).locator(locator).build();
    Support s = provider().supports(r);
    assertFalse(s.supported());
    assertTrue(s.reason().contains(reason), s.reason());
  }

  @Test
  void aBadFsyncPropertyNamesTheField() {
    Resource r = Resource.builder("r").type(ResourceType.FILE_TREE).locator(trees.toUri())
        .property(LocalDirectoryProvider.FSYNC, "yes").build();
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> provider().open(r, context()));
    assertEquals("resources[r].properties.fsync", e.field());
    assertTrue(e.getMessage().contains("'yes'"), e.getMessage());
  }

  @Test
  void restoresWithFsyncToo() throws Exception {
    Resource plain = resource();
    Resource durable = plain.toBuilder().property(LocalDirectoryProvider.FSYNC, "true").build();
    MemoryState.Chunks chunks = new MemoryState.Chunks();
    Captured first = capture(durable, CaptureMode.NON_BLOCKING, chunks, "cp1", Optional.empty());
    mutate(durable);
    restore(durable, durable, first.state());
    assertEquals(first.fingerprintAtCut(), fingerprint(durable));
  }

  @Test
  void openingADriverForAForeignLocatorNamesTheField() {
    Resource r = Resource.of("r", ResourceType.FILE_TREE, "nfs://host/export");
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> provider().open(r, context()));
    assertEquals("resources[r].locator", e.field());
  }
}
