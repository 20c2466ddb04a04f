package io.lencap.core;

import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leases on operations, kept in the store ({@code leases/SCOPE/ID}): a live capture, restore or collection
 * holds one and renews it; only an expired one may be taken over or repaired by another process. A scope
 * is an encapsulation (its captures and restores exclude each other) or {@code _collect} (collections).
 *
 * <p>Time is the storage's own: a lease has expired when the storage's modification time of its object is
 * older than the lease duration, measured against a probe object written now. Clients' clocks are never
 * compared with the storage's. A lease of a process on this host that is gone has expired at once.
 *
 * <p>Exclusion needs only a conditional create and a consistent listing: an operation writes its own lease,
 * lists the scope, and proceeds only when its lease is the only live one; otherwise it withdraws. Two
 * that start together may both withdraw (they retry a few times), never both proceed.
 */
final class Leases {
  private static final Logger log = LoggerFactory.getLogger(Leases.class);
  static final String PREFIX = "leases/";
  static final String COLLECT = "_collect";
  private static final String CLOCK = "clock/";
  private static final int ATTEMPTS = 4;

  private final BlobBackend backend;
  private final RecordSeal seal;
  private final JournalRecord.Owner owner;
  private final Duration duration;
  private final ScheduledExecutorService timer;
  private final String clockKey = CLOCK + UUID.randomUUID();

  Leases(BlobBackend backend, RecordSeal seal, JournalRecord.Owner owner, Duration duration,
      ScheduledExecutorService timer) {
    this.backend = backend;
    this.seal = seal;
    this.owner = owner;
    this.duration = duration;
    this.timer = timer;
  }

  Duration duration() {
    return duration;
  }

  /** What a lease says: the operation, and the process that holds it. */
  record Holder(String operationId, String kind, JournalRecord.Owner owner) {}

  /** A held lease; closing it releases it. */
  final class Lease implements AutoCloseable {
    private final String key;
    private final byte[] body;
    private final ScheduledFuture<?> renewal;
    private volatile long renewedNanos = System.nanoTime();
    private volatile boolean closed;

    private Lease(String key, byte[] body) {
      this.key = key;
      this.body = body;
      long every = Math.max(1, duration.toMillis() / 3);
      this.renewal = timer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
    }

    private void renew() {
      if (closed) {
        return;
      }
      try {
        backend.put(key, body);
        renewedNanos = System.nanoTime();
      } catch (IOException | RuntimeException e) {
        log.warn("could not renew the lease {}: {}", key, e.toString());
      }
    }

    /**
     * True while the lease is certainly still ours: renewed within half its duration, by this process's
     * monotonic clock. A collection stops deleting once this turns false.
     */
    boolean fresh() {
      return !closed && System.nanoTime() - renewedNanos < duration.toNanos() / 2;
    }

    @Override
    public void close() {
      closed = true;
      renewal.cancel(false);
      try {
        backend.delete(key);
      } catch (IOException e) {
        log.warn("could not release the lease {} (it expires by itself): {}", key, e.toString());
      }
    }
  }

  /** Thrown when another live operation holds the scope. */
  static final class HeldException extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Holder holder;

    HeldException(Holder holder) {
      super(holder.kind() + " " + holder.operationId() + " (process " + holder.owner().pid() + " on "
          + holder.owner().host() + ")");
      this.holder = holder;
    }
  }

  /** Takes the scope for an operation, or throws {@link HeldException} naming the live holder. */
  Lease acquire(String scope, String operationId, String kind) throws IOException, HeldException {
    String key = PREFIX + scope + "/" + operationId;
    byte[] body = seal.seal(key, Json.write(new Holder(operationId, kind, owner)));
    Holder other = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (!backend.putIfAbsent(key, body)) {
        throw new IllegalStateException("lease " + key + " exists already");
      }
      Optional<Holder> live = liveOthers(scope, operationId).stream().findFirst();
      if (live.isEmpty()) {
        return new Lease(key, body);
      }
      other = live.get();
      backend.delete(key);
      sleepJitter(attempt);
    }
    throw new HeldException(other);
  }

  private static void sleepJitter(int attempt) {
    try {
      // Backing off between two operations that saw each other: a random wait, so that one goes first.
      Thread.sleep(ThreadLocalRandom.current().nextLong(20, 100) << attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Live holders of the scope other than {@code operationId}. */
  List<Holder> liveOthers(String scope, String operationId) throws IOException {
    List<Holder> out = new ArrayList<>();
    List<BlobInfo> infos = backend.list(PREFIX + scope + "/");
    if (infos.isEmpty()) {
      return out;
    }
    Instant now = storageNow();
    for (BlobInfo info : infos) {
      Optional<Holder> h = read(info.key());
      if (h.isPresent() && !h.get().operationId().equals(operationId) && live(h.get(), info, now)) {
        out.add(h.get());
      }
    }
    return out;
  }

  /** Whether the operation's lease in the scope is live; false when it is absent, expired or not authentic. */
  boolean isLive(String scope, String operationId) throws IOException {
    String key = PREFIX + scope + "/" + operationId;
    Optional<BlobInfo> info = backend.stat(key);
    if (info.isEmpty()) {
      return false;
    }
    Optional<Holder> h = read(key);
    return h.isPresent() && live(h.get(), info.get(), storageNow());
  }

  /** Deletes an expired operation's lease (its repair is done). */
  void forget(String scope, String operationId) throws IOException {
    backend.delete(PREFIX + scope + "/" + operationId);
  }

  private Optional<Holder> read(String key) throws IOException {
    Optional<byte[]> bytes = backend.get(key);
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    Optional<byte[]> authentic = seal.open(key, bytes.get());
    if (authentic.isEmpty()) {
      log.warn("ignoring lease {}: not authentic (planted, or written under another record.key)", key);
      return Optional.empty();
    }
    return Optional.of(Json.read(authentic.get(), Holder.class));
  }

  private boolean live(Holder h, BlobInfo info, Instant storageNow) {
    if (owner.host().equals(h.owner().host()) && JournalRecord.processGone(h.owner())) {
      return false;
    }
    return !info.lastModified().plus(duration).isBefore(storageNow);
  }

  /** The storage's clock now: the modification time of a probe object written just now. */
  Instant storageNow() throws IOException {
    backend.put(clockKey, new byte[0]);
    return backend.stat(clockKey).map(BlobInfo::lastModified)
        .orElseThrow(() -> new IOException("the clock probe " + clockKey + " vanished"));
  }

  /** Removes this process's clock probe. */
  void close() {
    try {
      backend.delete(clockKey);
    } catch (IOException e) {
      log.debug("could not delete {}: {}", clockKey, e.toString());
    }
  }
}
