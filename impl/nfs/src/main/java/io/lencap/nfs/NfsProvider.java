package io.lencap.nfs;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import io.lencap.spi.Discarder;
import io.lencap.spi.PropertySpec;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.Support;
import io.lencap.spi.Watcher;
import java.util.List;
import java.util.Optional;

/**
 * NAS exports as file trees: {@code nfs://host/export/path}, type {@link ResourceType#FILE_TREE}. Captures
 * pre-copy while the group runs and make a short final pass in the pause (or take a server-side snapshot
 * through a {@link StorageSnapshot}); restores are differential and refuse unsafe manifests.
 */
public final class NfsProvider implements ResourceProvider {
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
    StorageSnapshot hook = context.storageSnapshot(resource).orElse(null);
    // The wall clock, not the context's: it is compared with the server's file times (a test's fake clock
    // would make every file look racily clean or racily changed).
    return new NfsDriver(resource, NfsLocator.of(resource), hook, java.time.Clock.systemUTC());
  }

  @Override
  public Watcher watch(Resource resource, ProviderContext context) {
    return new NfsWatcher(NfsLocator.of(resource));
  }

  /** Deletes a tree a restore created below an export (a drill's sandbox), symlinks as links. */
  @Override
  public Optional<Discarder> discarder(Resource restored, ProviderContext context) {
    return Optional.of(new NfsDiscard(NfsLocator.of(restored)));
  }

  @Override
  public List<PropertySpec> properties() {
    return List.of(
        PropertySpec.property("export", "the longest prefix of the path the server exports", "the export to "
            + "mount, a prefix of the locator's path"),
        PropertySpec.property("uid", "0", "the user id of the AUTH_SYS credential every call carries"),
        PropertySpec.property("gid", "0", "its group id"),
        PropertySpec.property("threads", NfsDriver.DEFAULT_THREADS, "files and directories worked on at once, 1 to 64"));
  }
}
