package io.lencap.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.ResourceProvider;
import java.lang.module.ModuleDescriptor;
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
}
