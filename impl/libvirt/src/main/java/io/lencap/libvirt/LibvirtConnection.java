package io.lencap.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.nio.file.Path;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import org.libvirt.jna.DomainPointer;

/**
 * A libvirt connection with the calls libvirt-java lacks (save and restore with flags and XML, the XML
 * inside a save image, a domain's state with its reason), made through {@link LibvirtNative} with the
 * connection pointer that {@link Connect} keeps in its protected field.
 */
final class LibvirtConnection extends Connect {
  /** virDomainState values. */
  static final int STATE_RUNNING = 1;
  static final int STATE_BLOCKED = 2;
  static final int STATE_PAUSED = 3;
  static final int STATE_SHUTDOWN = 4;
  static final int STATE_SHUTOFF = 5;
  static final int STATE_CRASHED = 6;
  static final int STATE_PMSUSPENDED = 7;
  /** virDomainPausedReason values that matter here. */
  static final int PAUSED_USER = 1;
  static final int PAUSED_IOERROR = 5;
  /**
   * Keepalive: a probe after this many idle seconds, and the connection is broken after this many probes
   * unanswered (about 20 s). Without it a call on a connection whose peer vanished without a reset (a cut
   * link, a host gone) blocks until TCP gives up, a quarter of an hour later.
   */
  static final int KEEPALIVE_INTERVAL_SECONDS = 5;
  static final int KEEPALIVE_COUNT = 3;

  private final String redactedUri;
  /** Our listeners: libvirt-java registers its native callback per connection, racily, so we register once. */
  private final java.util.List<org.libvirt.event.LifecycleListener> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private org.libvirt.event.LifecycleListener dispatcher;

  LibvirtConnection(String uri, String redactedUri) throws LibvirtException {
    super(uri, false);
    this.redactedUri = redactedUri;
    try {
      setKeepAlive(KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_COUNT);
    } catch (LibvirtException e) {
      // a driver without a daemon (test:///default) has no keepalive, and no link to lose
    }
  }

  /** The connection URI without credentials, for messages. */
  String redactedUri() {
    return redactedUri;
  }

  /** Delivers this connection's lifecycle events to the listener until the handle is closed. */
  AutoCloseable watch(org.libvirt.event.LifecycleListener listener) throws LibvirtException {
    synchronized (this) {
      if (dispatcher == null) {
        org.libvirt.event.LifecycleListener d = (domain, event) -> {
          for (org.libvirt.event.LifecycleListener l : listeners) {
            l.onLifecycleChange(domain, event);
          }
          return 0;
        };
        addLifecycleListener(d);
        dispatcher = d;
      }
    }
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** A domain's state and reason (virDomainGetState). */
  record State(int state, int reason) {
    boolean active() {
      return state != STATE_SHUTOFF && state != 0;
    }

    boolean running() {
      return state == STATE_RUNNING || state == STATE_BLOCKED;
    }

    boolean paused() {
      return state == STATE_PAUSED;
    }
  }

  State state(String uuid, String member, String what) {
    return withDomain(uuid, member, what, d -> {
      IntByReference state = new IntByReference();
      IntByReference reason = new IntByReference();
      if (LibvirtNative.INSTANCE.virDomainGetState(d, state, reason, 0) < 0) {
        throw LibvirtErrors.lastError(member, what);
      }
      return new State(state.getValue(), reason.getValue());
    });
  }

  /** Saves a domain's memory and device state to a file; the domain stops. */
  void saveImage(String uuid, Path to, int flags, String member, String what) {
    withDomain(uuid, member, what, d -> {
      if (LibvirtNative.INSTANCE.virDomainSaveFlags(d, to.toString(), null, flags) < 0) {
        throw LibvirtErrors.lastError(member, what);
      }
      return null;
    });
  }

  /** Starts a domain from a save image (or an external snapshot's memory file), with optional new XML. */
  void restoreImage(Path from, String xml, int flags, String member, String what) {
    if (LibvirtNative.INSTANCE.virDomainRestoreFlags(pointer(), from.toString(), xml, flags) < 0) {
      throw LibvirtErrors.lastError(member, what);
    }
  }

  /** The domain XML recorded in a save image, with security-sensitive parts: never log it. */
  String imageXml(Path image, String member, String what) {
    Pointer p = LibvirtNative.INSTANCE.virDomainSaveImageGetXMLDesc(pointer(), image.toString(),
        LibvirtNative.SAVE_IMAGE_XML_SECURE);
    if (p == null) {
      throw LibvirtErrors.lastError(member, what);
    }
    try {
      return p.getString(0, "UTF-8");
    } finally {
      Native.free(Pointer.nativeValue(p));
    }
  }

  /** Starts a backup job ({@code virDomainBackupBegin}) described by {@code xml}, without a checkpoint. */
  void beginBackup(String uuid, String xml, String member, String what) {
    withDomain(uuid, member, what, d -> {
      if (LibvirtNative.INSTANCE.virDomainBackupBegin(d, xml, null, 0) < 0) {
        throw LibvirtErrors.lastError(member, what);
      }
      return null;
    });
  }

  /** The running backup job's description, with the ports and export names libvirt chose; fails when there is none. */
  String backupXml(String uuid, String member, String what) {
    return withDomain(uuid, member, what, d -> {
      Pointer p = LibvirtNative.INSTANCE.virDomainBackupGetXMLDesc(d, 0);
      if (p == null) {
        throw LibvirtErrors.lastError(member, what);
      }
      try {
        return p.getString(0, "UTF-8");
      } finally {
        Native.free(Pointer.nativeValue(p));
      }
    });
  }

  interface WithDomain<T> {
    T apply(DomainPointer domain);
  }

  <T> T withDomain(String uuid, String member, String what, WithDomain<T> body) {
    DomainPointer d = LibvirtNative.INSTANCE.virDomainLookupByUUIDString(pointer(), uuid);
    if (d == null) {
      throw LibvirtErrors.lastError(member, what);
    }
    try {
      return body.apply(d);
    } finally {
      LibvirtNative.INSTANCE.virDomainFree(d);
    }
  }

  private org.libvirt.jna.ConnectionPointer pointer() {
    org.libvirt.jna.ConnectionPointer p = vcp;
    if (p == null) {
      throw new IllegalStateException("connection to " + redactedUri + " is closed");
    }
    return p;
  }

  /** True while the connection works (false once closed or after libvirtd went away). */
  boolean usable() {
    if (vcp == null) {
      return false;
    }
    try {
      return isAlive();
    } catch (LibvirtException e) {
      return false;
    }
  }

  void closeQuietly() {
    try {
      synchronized (this) {
        if (dispatcher != null && vcp != null) {
          // A registered callback keeps the native connection (and its events) alive past close().
          removeLifecycleListener(dispatcher);
          dispatcher = null;
        }
      }
    } catch (LibvirtException | RuntimeException e) {
      // the daemon went away: nothing is registered any more
    }
    try {
      close();
    } catch (LibvirtException | RuntimeException e) {
      // closing a connection to a daemon that went away fails; nothing is left to free
    }
  }
}
