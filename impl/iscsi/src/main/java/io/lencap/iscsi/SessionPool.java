package io.lencap.iscsi;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions one provider keeps between the captures and restores of a LUN, so that each does not log in again: a
 * login is several round trips, and istgt sleeps 1 s in each one (seen with strace on 2026-12-03), which every
 * capture of a LUN paid before its quiesce.
 *
 * <p>A session comes back only when every call on it ended normally ({@link IscsiSession#reusable}): one that failed
 * may still have commands in flight. One taken again is first asked the LUN's capacity, which refreshes its size and
 * proves the connection still works; one that fails that is closed and a new session logs in. While idle, each session
 * is asked the same every {@link #PING} by a daemon thread, which also answers the target's NOP-Ins (RFC 7143 lets a
 * target drop a connection that leaves them unanswered; istgt kept a silent one for 75 s here), and logged out after
 * {@link #KEEP} idle or when the provider closes.
 * Sessions are matched on everything the login used: address, both CHAP credentials (the secrets compared, never
 * shown) and the options.
 */
final class SessionPool implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionPool.class);
  /** How long an idle session is kept for the next capture: checkpoint intervals of a few minutes reuse it. */
  static final Duration KEEP = Duration.ofMinutes(10);
  /** How often an idle session is checked: well within istgt's NOP-In interval of 20 s. */
  static final Duration PING = Duration.ofSeconds(10);
  /** How long the check of a session may take before it is closed (and a new one logs in when one is needed). */
  static final Duration CHECK_LIMIT = Duration.ofSeconds(5);

  private record Key(LunAddress address, Optional<Chap> chap, Optional<Chap> targetChap,
      IscsiSession.Options options) {
    static Key of(LunSpec spec) {
      return new Key(spec.address(), spec.chap(), spec.targetChap(), spec.options());
    }

    @Override
    public String toString() {
      return address.toString();
    }
  }

  private record Idle(Key key, IscsiSession session, long since) {}

  private final Map<Key, ArrayDeque<Idle>> idle = new HashMap<>();
  private final LongSupplier nanoTime;
  private final Duration keep;
  private final Duration ping;
  private @Nullable ScheduledExecutorService pinger;
  private boolean closed;
  private long pings;

  SessionPool() {
    this(System::nanoTime, KEEP, PING);
  }

  SessionPool(LongSupplier nanoTime, Duration keep, Duration ping) {
    this.nanoTime = nanoTime;
    this.keep = keep;
    this.ping = ping;
  }

  /** A pool that keeps nothing: each driver logs in and out (what a driver made on its own uses). */
  static SessionPool none() {
    SessionPool pool = new SessionPool();
    pool.close();
    return pool;
  }

  /** A session to {@code spec}'s LUN: an idle one that still works, or a new login. */
  IscsiSession take(LunSpec spec) throws IscsiException {
    Key key = Key.of(spec);
    while (true) {
      Idle found;
      List<IscsiSession> expired;
      synchronized (this) {
        expired = removeExpired();
        ArrayDeque<Idle> sessions = idle.get(key);
        found = sessions == null ? null : sessions.pollFirst();
      }
      expired.forEach(IscsiSession::close);
      if (found == null) {
        return spec.connect();
      }
      if (works(found)) {
        return found.session();
      }
    }
  }

  /** Takes {@code session} back for a later capture, or closes it when it cannot serve one. */
  void give(LunSpec spec, IscsiSession session) {
    if (!keep(new Idle(Key.of(spec), session, nanoTime.getAsLong()))) {
      session.close();
    }
  }

  /** How many sessions wait, and how many checks of idle ones were made, for tests. */
  synchronized long[] counts() {
    return new long[] {idle.values().stream().mapToInt(ArrayDeque::size).sum(), pings};
  }

  private boolean works(Idle i) {
    try {
      i.session().revalidate(CHECK_LIMIT);
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.debug("an idle session to {} no longer works ({}): closed", i.key(), e.toString());
      i.session().close();
      return false;
    }
  }

  private synchronized boolean keep(Idle i) {
    if (closed || !i.session().reusable()) {
      return false;
    }
    idle.computeIfAbsent(i.key(), k -> new ArrayDeque<>()).addFirst(i);
    if (pinger == null) {
      ScheduledExecutorService p = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "lencap-iscsi-idle-sessions");
        t.setDaemon(true);
        return t;
      });
      p.scheduleWithFixedDelay(this::tend, ping.toMillis(), ping.toMillis(), TimeUnit.MILLISECONDS);
      pinger = p;
    }
    return true;
  }

  /** Logs out of the sessions idle too long and checks the others, each out of the pool while it is checked. */
  private void tend() {
    List<IscsiSession> expired;
    List<Idle> due = new ArrayList<>();
    synchronized (this) {
      expired = removeExpired();
      idle.values().forEach(due::addAll);
      idle.clear();
    }
    expired.forEach(IscsiSession::close);
    for (Idle i : due) {
      if (works(i)) {
        synchronized (this) {
          pings++;
        }
        if (!keep(i)) {
          i.session().close();
        }
      }
    }
  }

  private List<IscsiSession> removeExpired() {
    List<IscsiSession> expired = new ArrayList<>();
    long now = nanoTime.getAsLong();
    for (Iterator<ArrayDeque<Idle>> queues = idle.values().iterator(); queues.hasNext(); ) {
      ArrayDeque<Idle> sessions = queues.next();
      sessions.removeIf(i -> {
        boolean old = now - i.since() > keep.toNanos();
        if (old) {
          expired.add(i.session());
        }
        return old;
      });
      if (sessions.isEmpty()) {
        queues.remove();
      }
    }
    return expired;
  }

  @Override
  public void close() {
    List<IscsiSession> all = new ArrayList<>();
    synchronized (this) {
      closed = true;
      idle.values().forEach(q -> q.forEach(i -> all.add(i.session())));
      idle.clear();
      if (pinger != null) {
        pinger.shutdownNow();
      }
    }
    all.forEach(IscsiSession::close);
  }
}
