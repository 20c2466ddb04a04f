package io.lencap.libvirt;

import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.libvirt.LibvirtException;

/**
 * Open libvirt connections, one per URI, shared by the drivers of one provider. A connection that
 * stopped working (libvirtd restarted) is replaced by a new one on the next {@link #get}.
 */
final class Connections implements AutoCloseable {
  private final Map<URI, LibvirtConnection> open = new ConcurrentHashMap<>();

  Connections() {
    EventLoop.ensureStarted();
  }

  /** A working connection to the URI, opening one if needed. */
  LibvirtConnection get(URI uri, String member) {
    return open.compute(uri, (u, existing) -> {
      if (existing != null && existing.usable()) {
        return existing;
      }
      if (existing != null) {
        existing.closeQuietly();
      }
      return connect(u, member);
    });
  }

  /**
   * A working connection, waiting up to {@code patience} for libvirtd to come back (it may be restarting):
   * for the calls that must not give up at once, resuming a paused domain and merging overlays back.
   */
  LibvirtConnection getPatiently(URI uri, String member, java.time.Duration patience) throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    while (true) {
      try {
        return get(uri, member);
      } catch (io.lencap.api.UnavailableException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        java.util.concurrent.TimeUnit.MILLISECONDS.sleep(250); // polling for the daemon's socket
      }
    }
  }

  /** A connection of its own (event subscriptions register a close callback, one per connection). */
  LibvirtConnection dedicated(URI uri, String member) {
    return connect(uri, member);
  }

  private static LibvirtConnection connect(URI uri, String member) {
    String redacted = redact(uri);
    try {
      return new LibvirtConnection(uri.toString(), redacted);
    } catch (LibvirtException e) {
      throw LibvirtErrors.translate(e.getError(), member, "connecting to " + redacted, e);
    }
  }

  static String redact(URI uri) {
    if (uri.getRawUserInfo() == null) {
      return uri.toString();
    }
    return uri.getScheme() + "://***@" + uri.getRawAuthority().substring(uri.getRawAuthority().indexOf('@') + 1)
        + (uri.getRawPath() == null ? "" : uri.getRawPath());
  }

  @Override
  public void close() {
    open.values().forEach(LibvirtConnection::closeQuietly);
    open.clear();
  }
}
