package io.lencap.core;

import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StorageSnapshot;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repairs what a process that died mid-capture left in the store: from its intent record, resumes the
 * members it may have quiesced, releases its cuts, forgets the record, then collects the orphan chunks.
 * A record is dead when its process is gone from this host, or (other hosts) when it is older than
 * the store option {@code journal.staleAfter} (1 hour unless set).
 */
final class Repair {
  private static final Logger log = LoggerFactory.getLogger(Repair.class);
  private final Engine engine;

  Repair(Engine engine) {
    this.engine = engine;
  }

  void run() throws IOException {
    boolean repaired = false;
    for (JournalRecord r : engine.store().journal()) {
      if (isDead(r)) {
        repaired |= repair(r);
      }
    }
    if (repaired) {
      int n = engine.store().collect();
      log.info("repair collected {} orphan chunks", n);
    }
  }

  private boolean isDead(JournalRecord r) {
    JournalRecord.Owner o = r.owner();
    if (o.host().equals(engine.owner().host())) {
      Optional<ProcessHandle> p = ProcessHandle.of(o.pid());
      return p.isEmpty() || !p.get().isAlive()
          || !p.get().info().startInstant().orElse(Instant.EPOCH).equals(o.processStart());
    }
    return r.startedAt().plus(Duration.ofHours(1)).isBefore(engine.clock().instant());
  }

  private boolean repair(JournalRecord r) {
    log.warn("repairing capture {} of {} left by dead process {} on {}", r.captureId(), r.encapsulation(),
        r.owner().pid(), r.owner().host());
    boolean ok = true;
    for (JournalRecord.Member m : r.members()) {
      Resource.Builder b = Resource.builder(m.id()).type(m.type()).locator(m.locator());
      m.properties().forEach(b::property);
      Resource resource = b.build();
      try (ResourceDriver driver = engine.providers().providerFor(resource).open(resource, engine.providerContext())) {
        driver.resume();
        if (!m.cutArtefacts().isEmpty()) {
          driver.release(Cut.live(m.cutArtefacts()));
        } else {
          // Dead before its cut was recorded: a storage snapshot may have been taken all the same, and its
          // name follows from the capture's id (delete is a no-op when there is none).
          Optional<StorageSnapshot> snapshots = driver.extension(StorageSnapshot.class);
          if (snapshots.isPresent()) {
            snapshots.get().delete(resource, StorageSnapshot.imageName(r.captureId()));
          }
        }
      } catch (Exception e) {
        ok = false;
        log.error("repair could not resume or release {} of {}: {}; the record is kept for the next attempt",
            m.id(), r.encapsulation(), e.toString());
      }
    }
    if (ok) {
      try {
        engine.store().forget(r.captureId());
      } catch (IOException e) {
        log.warn("could not forget journal record {}: {}", r.captureId(), e.toString());
        return false;
      }
    }
    return ok;
  }
}
