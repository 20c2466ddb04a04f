package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.EntryKind;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StoredState;
import io.lencap.spi.tck.MemoryState;
import io.lencap.spi.tck.ResourceProviderContract;
import io.lencap.tree.UnsafeManifestException;
import java.lang.module.ModuleDescriptor;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class NfsProviderTest {
  private final NfsProvider provider = new NfsProvider();

  @Test
  void supportsNfsTreesOnly() {
    assertTrue(provider.supports(Resource.of("n", ResourceType.FILE_TREE, "nfs://filer/vol")).supported());
    var vm = provider.supports(Resource.of("n", ResourceType.VIRTUAL_MACHINE, "nfs://filer/vol"));
    assertFalse(vm.supported());
    assertTrue(vm.reason().contains("not a file tree"), vm.reason());
    var scheme = provider.supports(Resource.of("n", ResourceType.FILE_TREE, "file:///data"));
    assertFalse(scheme.supported());
    assertTrue(scheme.reason().contains("not nfs"), scheme.reason());
    var v4 = provider.supports(Resource.of("n", ResourceType.FILE_TREE, "nfs://filer/vol?version=4"));
    assertFalse(v4.supported());
    assertTrue(v4.reason().contains("NFSv3"), v4.reason());
  }

  @Test
  void isFoundByServiceLoader() {
    assertTrue(ServiceLoader.load(ResourceProvider.class).stream().anyMatch(p -> p.type() == NfsProvider.class));
    assertEquals("nfs", provider.name());
  }

  @Test
  void theModuleExportsNothing() throws Exception {
    ModuleDescriptor d;
    var classes = java.nio.file.Path.of(NfsProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    try (var in = java.nio.file.Files.newInputStream(classes.resolve("module-info.class"))) {
      d = ModuleDescriptor.read(in);
    }
    assertEquals("io.lencap.nfs", d.name());
    assertEquals(Set.of(),
        d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
    assertTrue(d.provides().stream().anyMatch(p -> p.service().equals("io.lencap.spi.ResourceProvider")
        && p.providers().equals(java.util.List.of("io.lencap.nfs.NfsProvider"))));
  }

  @Test
  void validateRefusesWhatRestoreRefusesWithTheSameMessage() throws Exception {
    Resource nas = Resource.of("nas", ResourceType.FILE_TREE, "nfs://127.0.0.1/export/tree");
    StoredState bad = state("a", "a/out", "../../b");
    try (ResourceDriver d = new NfsProvider().open(nas,
        ResourceProviderContract.providerContext(java.nio.file.Path.of("/tmp")))) {
      var atCapture = assertThrows(UnsafeManifestException.class, () -> d.validate(bad));
      var atRestore = assertThrows(UnsafeManifestException.class,
          () -> d.prepareRestore(new ResourceProviderContract.TckRestoreContext(nas, nas, bad)));
      assertEquals(atRestore.getMessage(), atCapture.getMessage());
      assertTrue(atCapture.getMessage().contains("entry 'a/out'"), atCapture.getMessage());
      d.validate(state("a", "a/x", "y")); // what restore accepts passes
    }
  }

  /** A directory holding one symlink, with the metadata the check requires. */
  private static StoredState state(String dir, String link, String target) throws Exception {
    Map<String, String> meta = Map.of("mode", "755", "uid", "0", "gid", "0", "atime", "1", "mtime", "2",
        "ctime", "3", "fileid", "9");
    MemoryState s = new MemoryState(new MemoryState.Chunks(), "cp");
    meta.forEach((k, v) -> s.attribute("root." + k, v));
    s.entry(dir, EntryKind.DIRECTORY, meta);
    Map<String, String> l = new HashMap<>(meta);
    l.put("target", target);
    s.entry(link, EntryKind.SYMLINK, l);
    return s.seal();
  }
}
