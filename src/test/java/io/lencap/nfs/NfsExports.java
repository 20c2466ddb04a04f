package io.lencap.nfs;

import java.nio.file.Path;

/** lencap-nfs's NFS-Ganesha fixture ({@link GaneshaServer}) for tests outside its package. */
public final class NfsExports implements AutoCloseable {
  private final GaneshaServer server;

  private NfsExports(GaneshaServer server) {
    this.server = server;
  }

  /** Starts a Ganesha serving one directory per export name; skips (fails when required) without Ganesha. */
  public static NfsExports start(String... exports) throws Exception {
    GaneshaServer.assumeInstalled();
    return new NfsExports(new GaneshaServer(exports).start());
  }

  /** The export's directory on this machine. */
  public Path dir(String export) {
    return server.dir(export);
  }

  /** {@code nfs://127.0.0.1/<dir>}. */
  public String locator(String export) {
    return server.locator(export);
  }

  @Override
  public void close() {
    server.close();
  }
}
