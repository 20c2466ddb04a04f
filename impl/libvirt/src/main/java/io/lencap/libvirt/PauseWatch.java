package io.lencap.libvirt;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.LifecycleListener;

/**
 * Measures how long a domain's vCPUs stood still during a live snapshot, from libvirt's lifecycle
 * events (SUSPENDED, then RESUMED): the pause the guest felt, which is shorter than the snapshot call.
 */
final class PauseWatch implements LifecycleListener, AutoCloseable {
  private AutoCloseable registration;
  private final String domainName;
  private final CountDownLatch resumed = new CountDownLatch(1);
  private volatile long suspendedAt;
  private volatile long resumedAt;

  private PauseWatch(String domainName) {
    this.domainName = domainName;
  }

  static PauseWatch start(LibvirtConnection connection, String domainName) throws LibvirtException {
    PauseWatch w = new PauseWatch(domainName);
    w.registration = connection.watch(w);
    return w;
  }

  @Override
  public int onLifecycleChange(Domain domain, DomainEvent event) {
    try {
      if (!domainName.equals(domain.getName())) {
        return 0;
      }
    } catch (LibvirtException e) {
      return 0;
    }
    if (event.getType() == DomainEventType.SUSPENDED && suspendedAt == 0) {
      suspendedAt = System.nanoTime();
    } else if (event.getType() == DomainEventType.RESUMED && suspendedAt != 0 && resumedAt == 0) {
      resumedAt = System.nanoTime();
      resumed.countDown();
    }
    return 0;
  }

  /** The pause, once the RESUMED event arrived (events trail the call that caused them by a little). */
  Optional<Duration> await(Duration limit) throws InterruptedException {
    if (!resumed.await(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofNanos(resumedAt - suspendedAt));
  }

  @Override
  public void close() {
    try {
      registration.close();
    } catch (Exception e) {
      // nothing to undo
    }
  }
}
