package io.lencap.libvirt;

import com.sun.jna.Pointer;
import org.libvirt.Connect;
import org.libvirt.ErrorCallback;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.libvirt.jna.virError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's process-wide event loop on one daemon thread. It must be registered before the first
 * connection opens: it delivers lifecycle events and keepalives (without it, idle connections close).
 * It also routes libvirt's own error printing (stderr by default) to debug logging: errors reach the
 * caller as exceptions anyway.
 */
final class EventLoop {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);
  private static boolean started;
  /** Held here: JNA frees a callback whose Java object is collected, and libvirt would call freed memory. */
  private static final ErrorCallback TO_DEBUG_LOG = new ErrorCallback() {
    @Override
    public void errorCallback(Pointer userData, virError error) {
      if (log.isDebugEnabled() && error != null) {
        log.debug("libvirt: {}", error.message);
      }
    }
  };

  private EventLoop() {}

  static synchronized void ensureStarted() {
    if (started) {
      return;
    }
    try {
      Connect.setErrorCallback(TO_DEBUG_LOG);
      Library.initEventLoop();
    } catch (LibvirtException e) {
      throw LibvirtErrors.translate(e.getError(), "-", "starting libvirt's event loop", e);
    }
    Thread t = new Thread(EventLoop::run, "lencap-libvirt-events");
    t.setDaemon(true);
    t.start();
    started = true;
  }

  private static void run() {
    while (true) {
      try {
        Library.processEvent();
      } catch (LibvirtException e) {
        log.warn("libvirt event loop: {}", e.getMessage());
      } catch (RuntimeException | Error e) {
        log.error("libvirt event loop stopped", e);
        return;
      }
    }
  }
}
