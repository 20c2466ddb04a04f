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
 * proves the connection still works; one that fails that, or that waited longer than {@link #MAX_IDLE} (a target
 * drops a connection that leaves its NOP-Ins unanswered), is closed and a new session logs in. Sessions are matched on
 * everything the login used: address, both CHAP credentials (the secrets compared, never shown) and the options. A
 * session idle for {@link #MAX_IDLE} is logged out by a daemon thread, and every idle one when the provider closes.
 */
final class SessionPool implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionPool.class);
  /** How long a session may wait for its next capture. */
  static final Duration MAX_IDLE = Duration.ofSeconds(30);
  /** How long the check of a session taken again may take before a new one logs in. */
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

  private record Idle(IscsiSession session, long since) {}

  private final Map<Key, ArrayDeque<Idle>> idle = new HashMap<>();
  private final LongSupplier nanoTime;
  private final Duration maxIdle;
  private @Nullable ScheduledExecutorService sweeper;
  private boolean closed;

  SessionPool() {
    this(System::nanoTime, MAX_IDLE);
  }

  SessionPool(LongSupplier nanoTime, Duration maxIdle) {
    this.nanoTime = nanoTime;
    this.maxIdle = maxIdle;
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
      try {
        found.session().revalidate(CHECK_LIMIT);
        return found.session();
      } catch (IOException | RuntimeException e) {
        LOG.debug("an idle session to {} no longer works ({}): logging in again", key, e.toString());
        found.session().close();
      }
    }
  }

  /** Takes {@code session} back for a later capture, or closes it when it cannot serve one. */
  void give(LunSpec spec, IscsiSession session) {
    List<IscsiSession> expired;
    synchronized (this) {
      expired = removeExpired();
      if (!closed && session.reusable()) {
        idle.computeIfAbsent(Key.of(spec), k -> new ArrayDeque<>()).addFirst(new Idle(session, nanoTime.getAsLong()));
        session = null;
        sweepLater();
      }
    }
    expired.forEach(IscsiSession::close);
    if (session != null) {
      session.close();
    }
  }

  /** How many sessions wait, for tests. */
  synchronized int idleCount() {
    return idle.values().stream().mapToInt(ArrayDeque::size).sum();
  }

  /** Logs out, once the idle limit has passed, of the sessions nobody took meanwhile. */
  private void sweepLater() {
    if (sweeper == null) {
      sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "lencap-iscsi-idle-sessions");
        t.setDaemon(true);
        return t;
      });
    }
    sweeper.schedule(() -> {
      List<IscsiSession> expired;
      synchronized (this) {
        expired = removeExpired();
      }
      expired.forEach(IscsiSession::close);
    }, maxIdle.toMillis() + 1, TimeUnit.MILLISECONDS);
  }

  private List<IscsiSession> removeExpired() {
    List<IscsiSession> expired = new ArrayList<>();
    long now = nanoTime.getAsLong();
    for (Iterator<ArrayDeque<Idle>> queues = idle.values().iterator(); queues.hasNext(); ) {
      ArrayDeque<Idle> sessions = queues.next();
      sessions.removeIf(i -> {
        boolean old = now - i.since() > maxIdle.toNanos();
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
      if (sweeper != null) {
        sweeper.shutdownNow();
      }
    }
    all.forEach(IscsiSession::close);
  }
}
