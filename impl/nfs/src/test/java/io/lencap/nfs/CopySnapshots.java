package io.lencap.nfs;

import io.lencap.api.Resource;
import io.lencap.spi.StorageSnapshot;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in NAS snapshot hook for tests (Ganesha's VFS has no snapshots): for resources with the property
 * {@code snapshots=copy} it copies the exported directory with {@code cp -a} into the directory named by
 * the property {@code snapshots.dir} (inside another export) and serves it from there. It proves the
 * plumbing (cut takes, transfer reads, release deletes), not the O(1) cut a real filer gives.
 */
public final class CopySnapshots implements StorageSnapshot {
  static final Set<String> LIVE = ConcurrentHashMap.newKeySet();

  @Override
  public boolean supports(Resource resource) {
    return "copy".equals(resource.properties().get("snapshots"));
  }

  @Override
  public URI take(Resource resource, String name) throws Exception {
    Path from = Path.of(resource.locator().getPath());
    Path to = Path.of(resource.properties().get("snapshots.dir")).resolve(name);
    Process p = new ProcessBuilder("cp", "-a", from.toString(), to.toString()).inheritIO().start();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("cp -a failed for snapshot " + name);
    }
    LIVE.add(name);
    return URI.create("nfs://" + resource.locator().getHost() + to);
  }

  @Override
  public void delete(Resource resource, String name) {
    GaneshaServer.deleteTree(Path.of(resource.properties().get("snapshots.dir")).resolve(name));
    LIVE.remove(name);
  }
}
