package io.lencap.core;

import io.lencap.api.ProviderNotFoundException;
import io.lencap.api.Resource;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.Support;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resource providers and storage snapshot implementations found by {@link ServiceLoader}. One that
 * fails to load is remembered with its error, not fatal: it shows up in the message when no provider
 * supports a resource.
 */
final class ProviderRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProviderRegistry.class);
  private final List<ResourceProvider> providers = new ArrayList<>();
  private final List<StorageSnapshot> snapshots = new ArrayList<>();
  private final Map<String, String> failedToLoad = new LinkedHashMap<>();

  ProviderRegistry(ClassLoader loader) {
    load(ResourceProvider.class, loader, providers);
    load(StorageSnapshot.class, loader, snapshots);
    log.debug("resource providers: {}, storage snapshots: {}", providers.stream().map(ResourceProvider::name)
        .toList(), snapshots.stream().map(s -> s.getClass().getName()).toList());
  }

  ProviderRegistry(List<ResourceProvider> providers) {
    this(providers, List.of());
  }

  ProviderRegistry(List<ResourceProvider> providers, List<StorageSnapshot> snapshots) {
    this.providers.addAll(providers);
    this.snapshots.addAll(snapshots);
  }

  private <T> void load(Class<T> type, ClassLoader loader, List<T> into) {
    Iterator<T> it = ServiceLoader.load(type, loader).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          break;
        }
        into.add(it.next());
      } catch (ServiceConfigurationError e) {
        failedToLoad.put("(" + type.getSimpleName() + " " + failedToLoad.size() + ")",
            "failed to load: " + e.getMessage());
        log.warn("a {} failed to load: {}", type.getSimpleName(), e.getMessage());
      }
    }
  }

  /** The first storage snapshot implementation that supports the resource. */
  Optional<StorageSnapshot> storageSnapshot(Resource resource) {
    for (StorageSnapshot s : snapshots) {
      try {
        if (s.supports(resource)) {
          return Optional.of(s);
        }
      } catch (RuntimeException e) {
        log.warn("storage snapshot {} failed to judge {}: {}", s.getClass().getName(), resource.id(), e.toString());
      }
    }
    return Optional.empty();
  }

  /** The first provider that supports the resource, or an error listing why each declined. */
  ResourceProvider providerFor(Resource resource) {
    Map<String, String> declined = new LinkedHashMap<>();
    for (ResourceProvider p : providers) {
      Support s;
      try {
        s = p.supports(resource);
      } catch (RuntimeException e) {
        s = Support.no("failed: " + e);
      }
      if (s.supported()) {
        return p;
      }
      declined.put(p.name(), s.reason());
    }
    declined.putAll(failedToLoad);
    throw new ProviderNotFoundException(resource.id(), declined);
  }

  @Override
  public void close() {
    for (ResourceProvider p : providers) {
      try {
        p.close();
      } catch (Exception e) {
        log.warn("closing provider {} failed: {}", p.name(), e.toString());
      }
    }
  }
}
