package io.lencap.core;

import io.lencap.api.LencapException;
import io.lencap.api.ProviderNotFoundException;
import io.lencap.api.Resource;
import io.lencap.api.Secret;
import io.lencap.api.UnavailableException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobBackendProvider;
import io.lencap.spi.MemberRole;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.Support;
import java.io.IOException;
import java.net.URI;
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
 * The resource providers, storage snapshot implementations and store backends found by {@link ServiceLoader}.
 * One that fails to load is remembered with its error, not fatal: it shows up in the message when nothing
 * found supports a resource or a store.
 */
final class ProviderRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProviderRegistry.class);
  private final List<ResourceProvider> providers = new ArrayList<>();
  private final List<StorageSnapshot> snapshots = new ArrayList<>();
  private final List<BlobBackendProvider> backends = new ArrayList<>();
  /** Why each implementation that failed to load did, by the interface it was to implement. */
  private final Map<Class<?>, List<String>> failedToLoad = new LinkedHashMap<>();

  /** Everything the class loader's {@code META-INF/services} and modules' {@code provides} declare. */
  ProviderRegistry(ClassLoader loader) {
    load(ResourceProvider.class, loader, providers);
    load(StorageSnapshot.class, loader, snapshots);
    load(BlobBackendProvider.class, loader, backends);
    log.debug("resource providers: {}, storage snapshots: {}, store backends: {}",
        providers.stream().map(ResourceProvider::name).toList(),
        snapshots.stream().map(s -> s.getClass().getName()).toList(),
        backends.stream().map(BlobBackendProvider::name).toList());
  }

  /** Given resource providers, no storage snapshots, the local store backend (tests). */
  ProviderRegistry(List<ResourceProvider> providers) {
    this(providers, List.of());
  }

  /** Given resource providers and storage snapshots, the local store backend (tests). */
  ProviderRegistry(List<ResourceProvider> providers, List<StorageSnapshot> snapshots) {
    this.providers.addAll(providers);
    this.snapshots.addAll(snapshots);
    this.backends.add(new LocalBackendProvider());
  }

  /** Given resource providers, and store backends tried before the local one (tests: fault injection). */
  static ProviderRegistry withBackends(List<ResourceProvider> providers, List<BlobBackendProvider> backends) {
    ProviderRegistry r = new ProviderRegistry(providers);
    r.backends.addAll(0, backends);
    return r;
  }

  /** The one discovery loop: a {@link ServiceConfigurationError} skips that implementation, not the rest. */
  private <T> void load(Class<T> type, ClassLoader loader, List<T> into) {
    Iterator<T> it = ServiceLoader.load(type, loader).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          break;
        }
        into.add(it.next());
      } catch (ServiceConfigurationError e) {
        failedToLoad.computeIfAbsent(type, t -> new ArrayList<>()).add("failed to load: " + e.getMessage());
        log.warn("a {} failed to load: {}", type.getSimpleName(), e.getMessage());
      }
    }
  }

  private List<String> failedToLoad(Class<?> type) {
    return failedToLoad.getOrDefault(type, List.of());
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
    int n = 0;
    for (Class<?> type : List.of(ResourceProvider.class, StorageSnapshot.class)) {
      for (String why : failedToLoad(type)) {
        declined.put("(" + type.getSimpleName() + " " + n++ + ")", why);
      }
    }
    throw new ProviderNotFoundException(resource.id(), declined);
  }

  /**
   * Whether {@code a} is the same target as {@code member}, as the member's provider judges it
   * ({@link ResourceProvider#sameTarget}); by {@link ResourceProvider#sameLocator} when no provider supports the
   * member (it then fails where it is opened).
   */
  boolean sameTarget(Resource a, Resource member) {
    ResourceProvider p;
    try {
      p = providerFor(member);
    } catch (ProviderNotFoundException e) {
      return ResourceProvider.sameLocator(a, member);
    }
    return p.sameTarget(a, member);
  }

  /**
   * The resource's role in ordering as its provider states it; by its type when no provider supports it (it
   * then fails where it is opened).
   */
  MemberRole role(Resource resource) {
    try {
      return providerFor(resource).role(resource);
    } catch (ProviderNotFoundException e) {
      return MemberRole.byType(resource.type());
    }
  }

  /**
   * Opens the store with the first backend that supports its URI. Throws {@link UnavailableException} when
   * that backend cannot open it, {@link LencapException} listing the backends found when none supports it.
   */
  BlobBackend openBackend(URI store, Map<String, String> options, Map<String, Secret> secrets) {
    List<String> seen = new ArrayList<>();
    for (BlobBackendProvider p : backends) {
      seen.add(p.name());
      if (p.supports(store)) {
        try {
          return p.open(store, options, secrets);
        } catch (IOException e) {
          throw new UnavailableException("cannot open the store " + redacted(store) + ": " + e.getMessage(), e);
        }
      }
    }
    seen.addAll(failedToLoad(BlobBackendProvider.class));
    throw new LencapException("no store backend supports '" + store.getScheme() + ":' URIs; backends found: "
        + seen + " (add lencap-store-hdfs or lencap-store-s3 for hdfs: and s3:)");
  }

  /** A URI for messages: without user information (a password may hide there). */
  static String redacted(URI uri) {
    return uri.getRawUserInfo() == null ? uri.toString() : uri.toString().replace(uri.getRawUserInfo() + "@", "");
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
