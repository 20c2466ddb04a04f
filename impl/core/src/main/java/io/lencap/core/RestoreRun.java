package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.api.spi.Names;
import io.lencap.spi.Capability;
import io.lencap.spi.MemberRole;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One restore of an encapsulation to a checkpoint: check every target before touching any; quiesce
 * the writers that exist (so that nothing writes to storage being restored); restore by levels, storage
 * first; resume by levels. On failure, members that were quiesced or restored are resumed.
 *
 * <p>A drill's restore into its sandbox ({@link #intoSandbox}) runs apart from the group's operations: under the
 * drill's lease ({@link DrillRun#scope}, held by the drill) and a {@link JournalRecord.Kind#DRILL} record, without
 * repairing the group first, so that a capture or restore of the group neither waits for it nor takes it for the
 * group's.
 */
final class RestoreRun {
  private static final Logger log = LoggerFactory.getLogger(RestoreRun.class);

  private final RunContext run;
  private final Encapsulation encapsulation;
  private final String operationId;
  private final String checkpointId;
  private final Placement placement;
  private final boolean sandbox;
  /** By type until set-up knows the providers. */
  private volatile Order order;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Tasks work;
  private final MemberCalls calls;
  private volatile Manifest manifest;
  private volatile boolean cancelled;
  private volatile Leases.Lease lease;
  private volatile JournalRecord journal;
  private final CompletableFuture<Checkpoint> result = new CompletableFuture<>() {
    @Override
    public boolean cancel(boolean mayInterrupt) {
      cancelled = true;
      work.cancelAll("restore cancelled");
      return super.cancel(mayInterrupt);
    }
  };

  RestoreRun(RunContext run, Encapsulation encapsulation, String operationId, String checkpointId,
      Placement placement) {
    this(run, encapsulation, operationId, checkpointId, placement, false);
  }

  private RestoreRun(RunContext run, Encapsulation encapsulation, String operationId, String checkpointId,
      Placement placement, boolean sandbox) {
    this.sandbox = sandbox;
    this.run = run;
    this.encapsulation = encapsulation;
    this.operationId = operationId;
    this.checkpointId = checkpointId;
    this.placement = placement;
    this.order = new Order(encapsulation);
    this.work = new Tasks(run.executor(), run.timer());
    this.calls = new MemberCalls(run.events(), work, new Tasks(run.resumePool(), run.timer()), encapsulation.name(),
        checkpointId, encapsulation.policy().phaseTimeout());
  }

  /** A drill's restore into the sandbox {@code placement} (already checked apart from the group, {@link DrillSandbox}). */
  static RestoreRun intoSandbox(RunContext run, Encapsulation encapsulation, String operationId, String checkpointId,
      Placement placement) {
    return new RestoreRun(run, encapsulation, operationId, checkpointId, placement, true);
  }

  CompletableFuture<Checkpoint> start() {
    CompletableFuture.runAsync(this::setUp, run.executor())
        .thenCompose(v -> MemberCalls.forAll(all(), m -> call(m, Phase.PREPARE, () -> m.driver.prepareRestore(m.context))))
        .thenCompose(v -> quiesceWriters())
        .thenCompose(v -> MemberCalls.byLevels(order.ascending(), members, m -> call(m, Phase.RESTORE, () -> {
          m.touched = true;
          m.restoreStarted = true;
          m.driver.restore(m.context);
          restored(m);
        })))
        .thenCompose(v -> MemberCalls.byLevels(order.ascending(), members,
            m -> call(m, Phase.RESUME, () -> m.driver.resume())))
        .whenComplete((v, e) -> {
          if (e == null) {
            closeDrivers();
            finishRecord(true);
            log.info("restored {} to {}", encapsulation.name(), checkpointId);
            result.complete(manifest.toCheckpoint());
          } else {
            fail(e);
          }
        });
    return result;
  }

  private void setUp() {
    try {
      if (!sandbox) { // a drill holds its own lease for the whole drill (DrillRun)
        lease = run.store().leases().acquire(encapsulation.name(), operationId, "restore");
        new Repair(run).run(encapsulation, true);
      }
      manifest = run.store().manifest(encapsulation.name(), checkpointId);
    } catch (Leases.HeldException e) {
      throw new io.lencap.api.LencapException("cannot restore " + encapsulation.name() + " now: " + e.getMessage()
          + " is running on it; restore when it has completed");
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot read checkpoint " + checkpointId, e);
    }
    Set<String> stored = manifest.members().stream().map(Manifest.Member::id).collect(Collectors.toCollection(TreeSet::new));
    Set<String> declared = encapsulation.resources().stream().map(Resource::id).collect(Collectors.toCollection(TreeSet::new));
    if (!stored.equals(declared)) {
      throw new InvalidSpecException("resources", "encapsulation " + encapsulation.name() + " has members "
          + declared + " but checkpoint " + checkpointId + " holds " + stored);
    }
    for (String id : placement.targets().keySet()) {
      if (!declared.contains(id)) {
        throw new InvalidSpecException("placement[" + id + "]", "no member '" + id + "' in " + encapsulation.name());
      }
    }
    Map<String, MemberRole> roles = new HashMap<>();
    for (Resource captured : encapsulation.resources()) {
      Manifest.Member stateOf = manifest.member(captured.id()).orElseThrow();
      if (stateOf.type() != captured.type()) {
        throw new InvalidSpecException("resources[" + captured.id() + "].type", "is " + captured.type()
            + " but was captured as " + stateOf.type());
      }
      Resource target = placement.apply(captured);
      ResourceProvider provider = run.providers().providerFor(target);
      roles.put(captured.id(), provider.role(target));
      ResourceDriver driver = provider.open(target, run.providerContext());
      Member m = new Member(captured, target, driver,
          new StoredStateView(run.store(), run.storePool(), checkpointId, stateOf));
      members.put(captured.id(), m);
      if (!target.equals(captured) && !driver.capabilities().contains(Capability.RESTORE_ELSEWHERE)) {
        throw new InvalidSpecException("placement[" + captured.id() + "]", "provider " + provider.name()
            + " cannot restore elsewhere");
      }
    }
    order = new Order(encapsulation, r -> roles.get(r.id()));
    record();
  }

  /** The journal record, before any member is touched: pins the checkpoint, and lets a repair finish. */
  private void record() {
    List<JournalRecord.Member> recorded = all().stream()
        .map(m -> new JournalRecord.Member(m.captured.id(), m.captured.type(), Map.of(), false)).toList();
    journal = sandbox
        ? JournalRecord.drill(operationId, encapsulation.name(), checkpointId, run.owner(), run.clock().instant(), recorded)
        : JournalRecord.restore(operationId, encapsulation.name(), checkpointId, run.owner(), run.clock().instant(),
            recorded);
    try {
      run.store().record(journal);
    } catch (IOException e) {
      throw CheckpointStore.unavailable("cannot write the intent journal to " + run.store().describe(), e);
    }
  }

  /** Notes in the journal that a member's state is whole on its target. */
  private synchronized void restored(Member m) throws IOException {
    m.restored = true;
    journal = journal.withMembers(journal.members().stream().map(r -> r.id().equals(m.captured.id())
        ? new JournalRecord.Member(r.id(), r.type(), Map.of(), true) : r).toList());
    run.store().record(journal);
  }

  /** Ends the operation's record: forgotten when nothing is left to repair, and the lease released. */
  private void finishRecord(boolean forget) {
    try {
      if (forget && journal != null) {
        run.store().forget(operationId);
      }
    } catch (IOException e) {
      log.warn("could not forget the journal record of restore {}: {}", operationId, e.toString());
    }
    if (lease != null) {
      lease.close();
    }
  }

  private CompletableFuture<Void> quiesceWriters() {
    return MemberCalls.byLevels(order.descending(), members, m -> order.isStorage(m.captured.id())
        ? CompletableFuture.completedFuture(null)
        : work.call("member " + m.captured.id() + " in QUIESCE", encapsulation.policy().phaseTimeout(), () -> {
          m.driver.quiesce();
          m.touched = true;
          return null;
        }).result().handle((v, e) -> {
          Throwable t = e == null ? null : Failures.unwrap(e);
          if (t != null && !(t instanceof NotFoundException)) { // nothing running there: nothing to stop
            throw Failures.translate(t, "member " + m.captured.id() + " in QUIESCE");
          }
          return null;
        }));
  }

  private void fail(Throwable e) {
    Throwable failure = Failures.unwrap(e);
    List<String> torn = all().stream().filter(m -> m.restoreStarted && !m.restored).map(m -> m.captured.id()).toList();
    log.warn("restore of {} to {} failed: {}", encapsulation.name(), checkpointId, failure.toString());
    if (!torn.isEmpty()) {
      // Never resume a writer on storage left half-written: the group waits, paused, for a new restore. A sandbox's
      // torn state needs no repair (its drill removes it): its record goes, by this operation's id only.
      closeDrivers();
      finishRecord(sandbox);
      RuntimeException translated = Failures.translate(failure, "restore of " + encapsulation.name() + " to "
          + checkpointId);
      String paused = torn + " were not restored whole, so the group's writers stay paused: restore it again";
      log.error("restore of {} to {}: {}", encapsulation.name(), checkpointId, paused);
      translated.addSuppressed(new io.lencap.api.LencapException(paused)); // the error keeps its meaning
      if (!cancelled) {
        result.completeExceptionally(translated);
      }
      return;
    }
    Throwable cause = failure;
    MemberCalls.forAllQuietly(all().stream().filter(m -> m.touched).toList(),
            m -> calls.undo(m.captured.id(), Phase.RESUME, () -> m.driver.resume()))
        .whenComplete((v, x) -> {
          closeDrivers();
          finishRecord(true);
          if (cancelled) {
            return;
          }
          result.completeExceptionally(cause instanceof CancellationException ? cause
              : Failures.translate(cause, "restore of " + encapsulation.name() + " to " + checkpointId));
        });
  }

  private List<Member> all() {
    return new ArrayList<>(members.values());
  }

  private CompletableFuture<Void> call(Member m, Phase phase, Tasks.Body body) {
    if (cancelled) {
      return CompletableFuture.failedFuture(new CancellationException("restore cancelled"));
    }
    return calls.call(m.captured.id(), phase, encapsulation.policy().phaseTimeout(), null, body,
            () -> phase == Phase.RESTORE && !m.notes.isEmpty() ? String.join("; ", m.notes) : null).result()
        .handle((v, e) -> {
          if (e != null) {
            Throwable t = Failures.unwrap(e);
            throw t instanceof MemberFailure f ? f.translated() : Failures.translate(t, "restore of "
                + encapsulation.name());
          }
          return null;
        });
  }

  private void closeDrivers() {
    all().forEach(m -> MemberCalls.close(m.captured.id(), m.driver));
  }

  private final class Member {
    final Resource captured;
    final ResourceDriver driver;
    final RestoreContext context;
    volatile boolean touched;
    volatile boolean restoreStarted;
    volatile boolean restored;
    /** What the driver said about how it restored the member ({@link RestoreContext#note}). */
    final List<String> notes = new CopyOnWriteArrayList<>();

    Member(Resource captured, Resource target, ResourceDriver driver, StoredState state) {
      this.captured = captured;
      this.driver = driver;
      this.context = new RestoreContext() {
        @Override
        public String encapsulation() {
          return encapsulation.name();
        }

        @Override
        public String checkpointId() {
          return checkpointId;
        }

        @Override
        public Resource captured() {
          return captured;
        }

        @Override
        public Resource target() {
          return target;
        }

        @Override
        public Optional<Resource> relocated(URI capturedLocator) {
          return encapsulation.resources().stream()
              .filter(r -> r.locator().equals(capturedLocator) && placement.target(r.id()).isPresent())
              .findFirst().map(placement::apply);
        }

        @Override
        public StoredState state() {
          return state;
        }

        @Override
        public Optional<StoredState> stateIn(String otherId) {
          if (otherId.equals(checkpointId)) {
            return Optional.of(state);
          }
          if (!Names.valid(otherId)) { // drivers may take ids from their targets: never a path
            return Optional.empty();
          }
          try {
            Manifest other = run.store().manifest(encapsulation.name(), otherId);
            if (!other.id().equals(otherId) || !other.encapsulation().equals(encapsulation.name())) {
              return Optional.empty();
            }
            return other.member(captured.id()).map(s -> new StoredStateView(run.store(), run.storePool(), otherId, s));
          } catch (NotFoundException e) {
            return Optional.empty();
          } catch (IOException e) {
            throw CheckpointStore.unavailable("cannot read checkpoint " + otherId, e);
          }
        }

        @Override
        public void note(String note) {
          log.info("restore of {} to {}, member {}: {}", encapsulation.name(), checkpointId, captured.id(), note);
          notes.add(note);
        }

        @Override
        public void progress(long done, long total) {
          run.events().progress(encapsulation.name(), checkpointId, captured.id(), done, total);
        }

        @Override
        public boolean isCancelled() {
          return cancelled;
        }

        @Override
        public void checkCancelled() {
          if (cancelled) {
            throw new CancellationException("restore cancelled");
          }
        }
      };
    }
  }
}
