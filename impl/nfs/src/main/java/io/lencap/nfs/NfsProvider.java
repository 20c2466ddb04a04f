package io.lencap.nfs;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.nfs.snapshot.NasSnapshots;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.Support;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NAS exports as file trees: {@code nfs://host/export/path}, type {@link ResourceType#FILE_TREE}. Captures
 * pre-copy while the group runs and make a short final pass in the pause (or take a server-side snapshot
 * through a {@link NasSnapshots} hook); restores are differential and refuse unsafe manifests.
 */
public final class NfsProvider implements ResourceProvider {
  private static final Logger log = LoggerFactory.getLogger(NfsProvider.class);
  private final List<NasSnapshots> snapshots;

  public NfsProvider() {
    List<NasSnapshots> found = new ArrayList<>();
    var it = ServiceLoader.load(NasSnapshots.class, NfsProvider.class.getClassLoader()).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          break;
        }
        found.add(it.next());
      } catch (ServiceConfigurationError e) {
        log.warn("a NAS snapshot hook failed to load and is ignored: {}", e.getMessage());
      }
    }
    this.snapshots = List.copyOf(found);
  }

  @Override
  public String name() {
    return "nfs";
  }

  @Override
  public Support supports(Resource resource) {
    if (resource.type() != ResourceType.FILE_TREE) {
      return Support.no("type " + resource.type().shortName() + " is not a file tree (tree)");
    }
    if (!NfsLocator.SCHEME.equalsIgnoreCase(resource.locator().getScheme())) {
      return Support.no("scheme " + resource.locator().getScheme() + " is not nfs (nfs://host/export/path)");
    }
    try {
      NfsLocator.of(resource);
    } catch (InvalidSpecException e) {
      return Support.no(e.getMessage());
    }
    return Support.yes();
  }

  @Override
  public ResourceDriver open(Resource resource, ProviderContext context) {
    NasSnapshots hook = snapshots.stream().filter(h -> h.supports(resource)).findFirst().orElse(null);
    // The wall clock, not the context's: it is compared with the server's file times (a test's fake clock
    // would make every file look racily clean or racily changed).
    return new NfsDriver(resource, NfsLocator.of(resource), hook, java.time.Clock.systemUTC());
  }
}
