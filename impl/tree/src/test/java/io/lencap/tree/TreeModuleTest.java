package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The engine is shared with the tree providers only: one qualified export, nothing provided. */
class TreeModuleTest {
  @Test
  void exportsItsPackageToTheTreeProvidersOnly() throws Exception {
    Path classes = Path.of(TreeFiles.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ModuleDescriptor d;
    try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
      d = ModuleDescriptor.read(in);
    }
    assertEquals("io.lencap.tree", d.name());
    assertEquals(1, d.exports().size());
    ModuleDescriptor.Exports e = d.exports().iterator().next();
    assertEquals("io.lencap.tree", e.source());
    assertEquals(Set.of("io.lencap.nfs", "io.lencap.localdir"), e.targets());
    assertEquals(Set.of(), d.provides());
  }
}
