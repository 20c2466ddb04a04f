package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;

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
}
