package io.lencap.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.api.Lencap;
import io.lencap.spi.ResourceProvider;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The public surface: api and spi export one package each to everyone (api also its engine binding to the engine
 * alone); the engine and providers export nothing.
 */
class ModuleExportsTest {
  static ModuleDescriptor descriptorOf(Class<?> type) throws URISyntaxException {
    Path where = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    return ModuleFinder.of(where).findAll().iterator().next().descriptor();
  }

  static Set<String> exports(Class<?> type) throws URISyntaxException {
    Set<String> out = new TreeSet<>();
    descriptorOf(type).exports().forEach(e -> out.add(e.source() + (e.isQualified() ? " to " + e.targets() : "")));
    return out;
  }

  @Test
  void apiAndSpiExportOnePackageEach() throws Exception {
    assertEquals(Set.of("io.lencap.api", "io.lencap.api.spi to [io.lencap.core]"), exports(Lencap.class));
    assertEquals(Set.of("io.lencap.spi", "io.lencap.spi.locator to [io.lencap.core]"), exports(ResourceProvider.class));
  }

  @Test
  void theEngineExportsNothingAndProvidesTheBindings() throws Exception {
    Class<?> engine = Class.forName("io.lencap.core.CoreEngineProvider");
    ModuleDescriptor core = descriptorOf(engine);
    assertEquals("io.lencap.core", core.name());
    assertEquals(Set.of(), exports(engine));
    Set<String> provided = new TreeSet<>();
    core.provides().forEach(p -> provided.add(p.service()));
    assertEquals(Set.of("io.lencap.api.spi.EngineProvider", "io.lencap.spi.BlobBackendProvider",
        "io.lencap.spi.StorageSnapshot"), provided);
  }
}
