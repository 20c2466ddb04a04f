package io.lencap.core;

import io.lencap.api.Encapsulation;
import io.lencap.api.LencapException;
import io.lencap.api.Resource;
import io.lencap.spi.Cut;
import io.lencap.spi.MemberRole;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.StorageSnapshot;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finishes, for one encapsulation the application names, what its operations left undone when their
 * process died (their lease expired): a capture's members are resumed and its cuts released; a restore's
 * writers are resumed only if every member was restored whole (never a writer on torn storage). The record's members are re-bound
 * by id to the application's resources; a member the application no longer declares is left alone.
 */
final class Repair {
  private static final Logger log = LoggerFactory.getLogger(Repair.class);
  private final RunContext run;

  Repair(RunContext run) {
    this.run = run;
  }

  /**
   * Repairs every interrupted operation of the encapsulation; throws {@link LencapException} naming what
   * it could not repair (records of those stay for the next attempt).
   */
  void run(Encapsulation encapsulation) throws IOException {
    run(encapsulation, false);
  }

  /**
   * As {@link #run(Encapsulation)}; with {@code beforeRestore}, interrupted restores are forgotten instead:
   * the restore about to run supersedes them (it quiesces the writers they left paused and resumes them).
   */
  void run(Encapsulation encapsulation, boolean beforeRestore) throws IOException {
    List<String> problems = new ArrayList<>();
    boolean repaired = false;
    for (JournalRecord r : run.store().journal()) {
      if (!r.encapsulation().equals(encapsulation.name()) || CheckpointCopy.running(run.store().leases(), r)) {
        continue;
      }
      log.warn("repairing {} {} of {} left by process {} on {}", r.kind(), r.operationId(), r.encapsulation(),
          r.owner().pid(), r.owner().host());
      // An interrupted sync left nothing to undo: its record only pinned a checkpoint or named chunks. An interrupted
      // drill touched only its sandbox, whose members share the group's ids: never re-bind them to the group's.
      Optional<String> problem = r.kind() == JournalRecord.Kind.CAPTURE ? repairCapture(r, encapsulation)
          : beforeRestore || r.kind() == JournalRecord.Kind.COPY || r.kind() == JournalRecord.Kind.DRILL
              ? Optional.empty() : repairRestore(r, encapsulation);
      if (problem.isPresent()) {
        problems.add(problem.get());
        continue;
      }
      run.store().forget(r.operationId());
      CheckpointCopy.forgetLease(run.store().leases(), r);
      repaired = true;
    }
    if (repaired) {
      log.info("repair of {} collected {} orphan chunks", encapsulation.name(), run.store().collect().deleted());
    }
    if (!problems.isEmpty()) {
      throw new LencapException("repair of " + encapsulation.name() + ": " + String.join("; ", problems));
    }
  }

  private Optional<String> repairCapture(JournalRecord r, Encapsulation encapsulation) {
    List<String> failed = new ArrayList<>();
    for (JournalRecord.Member m : r.members()) {
      Optional<Resource> declared = declared(encapsulation, m);
      if (declared.isEmpty()) {
        continue;
      }
      Resource resource = declared.get();
      try (ResourceDriver driver = run.providers().providerFor(resource).open(resource, run.providerContext())) {
        driver.resume();
        if (!m.cutArtefacts().isEmpty()) {
          driver.release(Cut.live(m.cutArtefacts()));
        } else {
          // Dead before its cut was recorded: a storage snapshot may have been taken all the same, and its
          // name follows from the capture's id (delete is a no-op when there is none).
          Optional<StorageSnapshot> snapshots = driver.extension(StorageSnapshot.class);
          if (snapshots.isPresent()) {
            snapshots.get().delete(resource, StorageSnapshot.imageName(r.operationId()));
          }
        }
      } catch (Exception e) {
        log.error("repair could not resume or release {} of {}: {}", m.id(), r.encapsulation(), e.toString());
        failed.add(m.id());
      }
    }
    return failed.isEmpty() ? Optional.empty() : Optional.of("capture " + r.operationId()
        + ": could not resume or release " + failed + " (the record is kept for the next attempt)");
  }

  private Optional<String> repairRestore(JournalRecord r, Encapsulation encapsulation) {
    List<String> torn = r.members().stream().filter(m -> !m.restored()).map(JournalRecord.Member::id).toList();
    if (!torn.isEmpty()) {
      return Optional.of("the restore to " + r.checkpointId() + " (" + r.operationId() + ") was interrupted before "
          + torn + " were restored whole: the group's writers stay paused; restore the group again");
    }
    List<String> failed = new ArrayList<>();
    for (JournalRecord.Member m : r.members()) {
      Optional<Resource> declared = declared(encapsulation, m);
      if (declared.isEmpty() || run.providers().role(declared.get()) == MemberRole.STORAGE) {
        continue;
      }
      Resource resource = declared.get();
      try (ResourceDriver driver = run.providers().providerFor(resource).open(resource, run.providerContext())) {
        driver.resume();
      } catch (Exception e) {
        log.error("repair could not resume {} of {}: {}", m.id(), r.encapsulation(), e.toString());
        failed.add(m.id());
      }
    }
    return failed.isEmpty() ? Optional.empty() : Optional.of("restore " + r.operationId() + ": could not resume "
        + failed);
  }

  private static Optional<Resource> declared(Encapsulation encapsulation, JournalRecord.Member m) {
    Optional<Resource> r = encapsulation.resources().stream().filter(x -> x.id().equals(m.id())).findFirst();
    if (r.isEmpty() || r.get().type() != m.type()) {
      log.warn("repair of {} leaves member {} alone: the encapsulation no longer declares it as {}",
          encapsulation.name(), m.id(), m.type());
      return Optional.empty();
    }
    return r;
  }
}
