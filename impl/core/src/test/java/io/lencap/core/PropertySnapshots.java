package io.lencap.core;

import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A storage snapshot found by ServiceLoader in core's tests: supports resources with {@code snapshot=yes}. */
public final class PropertySnapshots implements StorageSnapshot {
  /** Names deleted, in order. */
  final List<String> deleted = new CopyOnWriteArrayList<>();

  @Override
  public boolean supports(Resource resource) {
    if ("throw".equals(resource.properties().get("snapshot"))) {
      throw new IllegalStateException("cannot judge");
    }
    return "yes".equals(resource.properties().get("snapshot"));
  }

  @Override
  public URI take(Resource resource, String name) {
    return resource.locator().resolve(name);
  }

  @Override
  public void delete(Resource resource, String name) {
    deleted.add(name);
  }
}
