package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProviderRegistryTest {
  private final ProviderRegistry registry = new ProviderRegistry(getClass().getClassLoader());

  private static Resource lun(String snapshot) {
    Resource.Builder b = Resource.builder("lun").type(ResourceType.BLOCK_VOLUME).locator(URI.create("mem://d0"));
    return snapshot == null ? b.build() : b.property("snapshot", snapshot).build();
  }

  @Test
  void findsTheStorageSnapshotThatSupportsAResource() {
    assertInstanceOf(PropertySnapshots.class, registry.storageSnapshot(lun("yes")).orElseThrow());
  }

  @Test
  void noneWhenNoImplementationSupportsIt() {
    assertEquals(Optional.empty(), registry.storageSnapshot(lun(null)));
  }

  @Test
  void anImplementationThatFailsToJudgeIsPassedOver() {
    assertEquals(Optional.empty(), registry.storageSnapshot(lun("throw")));
  }

  @Test
  void storeBackendsAreFoundWithTheProviders(@TempDir Path store) throws Exception {
    try (var backend = registry.openBackend(store.toUri(), Map.of(), Map.of())) {
      assertInstanceOf(LocalBackend.class, backend);
    }
  }

  @Test
  void aStoreNoBackendSupportsIsRefusedNamingTheBackendsFound() {
    LencapException e = assertThrows(LencapException.class,
        () -> registry.openBackend(URI.create("gopher://user:pw@host/x"), Map.of(), Map.of()));
    assertTrue(e.getMessage().contains("'gopher:'") && e.getMessage().contains("[local]"), e.getMessage());
    assertTrue(!e.getMessage().contains("pw"), e.getMessage());
  }
}
