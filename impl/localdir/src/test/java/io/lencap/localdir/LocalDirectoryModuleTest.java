package io.lencap.localdir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.ResourceProvider;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The module shows its provider's package (for the documented constants) and provides the provider. */
class LocalDirectoryModuleTest {
  @Test
  void exportsTheProviderPackageAndProvidesTheProvider() throws Exception {
    Path classes = Path.of(LocalDirectoryProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ModuleDescriptor d;
    try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
      d = ModuleDescriptor.read(in);
    }
    assertEquals("io.lencap.localdir", d.name());
    assertEquals(Set.of("io.lencap.localdir"),
        d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
    assertTrue(d.provides().stream().anyMatch(p -> p.service().equals("io.lencap.spi.ResourceProvider")
        && p.providers().equals(List.of("io.lencap.localdir.LocalDirectoryProvider"))));
    assertTrue(ServiceLoader.load(ResourceProvider.class).stream()
        .anyMatch(p -> p.type() == LocalDirectoryProvider.class));
  }
}
