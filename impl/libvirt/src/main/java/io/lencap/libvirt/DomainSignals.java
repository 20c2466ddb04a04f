package io.lencap.libvirt;

import io.lencap.api.FailureKind;
import io.lencap.api.Resource;
import io.lencap.spi.Watcher.Signal;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.ConnectionCloseListener;
import org.libvirt.event.ConnectionCloseReason;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventDetail;
import org.libvirt.event.LifecycleListener;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns libvirt's lifecycle events for one domain into failure signals, on a connection of its own;
 * when libvirtd goes away it signals UNREACHABLE, reconnects every second, and signals RECOVERED (then
 * STOPPED if the domain did not survive).
 */
final class DomainSignals {
  private static final Logger log = LoggerFactory.getLogger(DomainSignals.class);

  private final Resource resource;
  private final Connections connections;
  private final String domainName;

  DomainSignals(Resource resource, Connections connections, String domainName) {
    this.resource = resource;
    this.connections = connections;
    this.domainName = domainName;
  }

  /** Starts delivering signals; closing the handle stops them. */
  AutoCloseable subscribe(Consumer<Signal> listener) {
    Subscription s = new Subscription(listener);
    s.connect();
    return s;
  }

  /** Maps one lifecycle event to a signal kind, or null for changes that are not failures (our own saves). */
  static FailureKind kindOf(DomainEvent event) {
    DomainEventDetail detail = event.getDetail();
    return switch (event.getType()) {
      case CRASHED -> FailureKind.CRASHED;
      case STOPPED -> detail == StoppedDetail.CRASHED || detail == StoppedDetail.FAILED ? FailureKind.CRASHED
          : detail == StoppedDetail.DESTROYED || detail == StoppedDetail.SHUTDOWN ? FailureKind.STOPPED : null;
      case SUSPENDED -> detail == SuspendedDetail.IOERROR || detail == SuspendedDetail.API_ERROR
          ? FailureKind.PAUSED_ON_ERROR : null;
      default -> null;
    };
  }

  private final class Subscription implements AutoCloseable, LifecycleListener, ConnectionCloseListener {
    private final Consumer<Signal> listener;
    private final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lencap-libvirt-reconnect-" + resource.id());
      t.setDaemon(true);
      return t;
    });
    private volatile LibvirtConnection conn;
    private volatile boolean closed;

    Subscription(Consumer<Signal> listener) {
      this.listener = listener;
    }

    void connect() {
      LibvirtConnection c = connections.dedicated(resource.locator(), resource.id());
      try {
        c.addLifecycleListener(this);
        c.registerCloseListener(this);
      } catch (LibvirtException e) {
        c.closeQuietly();
        throw LibvirtErrors.translate(e.getError(), resource.id(), "subscribing to events of domain " + domainName, e);
      }
      conn = c;
    }

    @Override
    public int onLifecycleChange(Domain domain, DomainEvent event) {
      try {
        if (!closed && domainName.equals(domain.getName())) {
          FailureKind k = kindOf(event);
          if (k != null) {
            emit(k, event.toString());
          }
        }
      } catch (LibvirtException e) {
        log.debug("event for a domain that went away: {}", e.getMessage());
      }
      return 0;
    }

    @Override
    public void onClose(Connect c, ConnectionCloseReason reason) {
      if (closed) {
        return;
      }
      emit(FailureKind.UNREACHABLE, "connection to " + resource.redactedLocator() + " closed (" + reason + ")");
      retry.execute(this::reconnect); // not on the event loop's thread
    }

    private void reconnect() {
      if (closed) {
        return;
      }
      LibvirtConnection old = conn;
      if (old != null) {
        old.closeQuietly();
      }
      try {
        connect();
      } catch (RuntimeException e) {
        log.debug("reconnecting to {}: {}", resource.redactedLocator(), e.getMessage());
        retry.schedule(this::reconnect, 1, TimeUnit.SECONDS);
        return;
      }
      emit(Signal.recovered(resource.id(), "reconnected to " + resource.redactedLocator(), Instant.now()));
      try {
        Domain d = conn.domainLookupByName(domainName);
        if (d.isActive() == 0) {
          emit(FailureKind.STOPPED, "domain " + domainName + " is not running after libvirtd came back");
        }
      } catch (LibvirtException e) {
        emit(FailureKind.STOPPED, "domain " + domainName + " is gone after libvirtd came back: " + e.getMessage());
      }
    }

    private void emit(FailureKind kind, String detail) {
      emit(Signal.failed(resource.id(), kind, detail, Instant.now()));
    }

    private void emit(Signal signal) {
      try {
        listener.accept(signal);
      } catch (RuntimeException e) {
        log.warn("a failure-signal listener of {} threw: {}", resource.id(), e.toString());
      }
    }

    @Override
    public void close() {
      closed = true;
      retry.shutdownNow();
      LibvirtConnection c = conn;
      if (c != null) {
        try {
          c.removeLifecycleListener(this);
          c.unregisterCloseListener();
        } catch (LibvirtException | RuntimeException e) {
          // the connection is gone already
        }
        c.closeQuietly();
      }
    }
  }
}
