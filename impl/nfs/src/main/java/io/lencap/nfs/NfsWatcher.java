package io.lencap.nfs;

import io.lencap.spi.Health;
import io.lencap.spi.Watcher;
import io.lencap.tree.FileAttrs;

/**
 * An export's health for failure detection: its root answers GETATTR as a directory. One session serves the
 * probes and is opened anew after a failure, so that a restarted server is seen as recovered.
 */
final class NfsWatcher implements Watcher {
  private final NfsLocator locator;
  private NfsSession session;

  NfsWatcher(NfsLocator locator) {
    this.locator = locator;
  }

  @Override
  public synchronized Health probe() {
    try {
      if (session == null) {
        session = NfsSession.open(locator);
      }
      FileAttrs a = session.getattr(session.root(), "");
      return a.kind() == FileAttrs.Kind.DIRECTORY ? Health.healthy()
          : Health.failed(session.where() + " is not a directory");
    } catch (Exception e) {
      session = null;
      return Health.failed(locator.describe() + ": " + e.getMessage());
    }
  }
}
