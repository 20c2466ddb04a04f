package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapEvent.Status;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.Placement;
import io.lencap.api.Resource;
import io.lencap.spi.Capability;
import io.lencap.spi.ResourceDriver;
import io.lencap.spi.ResourceProvider;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One restore of an encapsulation to a checkpoint: check every target before touching any; quiesce
 * the writers that exist (so that nothing writes to storage being restored); restore by levels, storage
 * first; resume by levels. On failure, members that were quiesced or restored are resumed.
 */
final class RestoreRun {
  private static final Logger log = LoggerFactory.getLogger(RestoreRun.class);

  private final Engine engine;
  private final Encapsulation encapsulation;
  private final String checkpointId;
  private final Placement placement;
  private final Order order;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Tasks work;
  private volatile Manifest manifest;
  private volatile boolean cancelled;
  private final CompletableFuture<Checkpoint> result = new CompletableFuture<>() {
    @Override
    public boolean cancel(boolean mayInterrupt) {
      cancelled = true;
      work.cancelAll("restore cancelled");
      return super.cancel(mayInterrupt);
    }
  };

  RestoreRun(Engine engine, Encapsulation encapsulation, String checkpointId, Placement placement) {
    this.engine = engine;
    this.encapsulation = encapsulation;
    this.checkpointId = checkpointId;
    this.placement = placement;
    this.order = new Order(encapsulation);
    this.work = new Tasks(engine.executor(), engine.timer());
  }

  CompletableFuture<Checkpoint> start() {
    CompletableFuture.runAsync(this::setUp, engine.executor())
        .thenCompose(v -> forAll(all(), m -> call(m, Phase.PREPARE, () -> m.driver.prepareRestore(m.context))))
        .thenCompose(v -> quiesceWriters())
        .thenCompose(v -> byLevels(order.ascending(), m -> call(m, Phase.RESTORE, () -> {
          m.driver.restore(m.context);
          m.touched = true;
        })))
        .thenCompose(v -> byLevels(order.ascending(), m -> call(m, Phase.RESUME, () -> m.driver.resume())))
        .whenComplete((v, e) -> {
          if (e == null) {
            closeDrivers();
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
      manifest = engine.store().manifest(encapsulation.name(), checkpointId);
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
    for (Resource captured : encapsulation.resources()) {
      Manifest.Member stateOf = manifest.member(captured.id()).orElseThrow();
      if (stateOf.type() != captured.type()) {
        throw new InvalidSpecException("resources[" + captured.id() + "].type", "is " + captured.type()
            + " but was captured as " + stateOf.type());
      }
      Resource target = placement.apply(captured);
      ResourceProvider provider = engine.providers().providerFor(target);
      ResourceDriver driver = provider.open(target, engine.providerContext());
      Member m = new Member(captured, target, driver,
          new StoredStateView(engine.store(), engine.storePool(), checkpointId, stateOf));
      members.put(captured.id(), m);
      if (!target.equals(captured) && !driver.capabilities().contains(Capability.RESTORE_ELSEWHERE)) {
        throw new InvalidSpecException("placement[" + captured.id() + "]", "provider " + provider.name()
            + " cannot restore elsewhere");
      }
    }
  }

  private CompletableFuture<Void> quiesceWriters() {
    return byLevels(order.descending(), m -> m.captured.type().isStorage()
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
    Throwable cause = Failures.unwrap(e);
    log.warn("restore of {} to {} failed: {}", encapsulation.name(), checkpointId, cause.toString());
    Tasks cleanup = new Tasks(engine.executor(), engine.timer());
    CompletableFuture.allOf(all().stream().filter(m -> m.touched)
            .map(m -> cleanup.call("resume " + m.captured.id(), encapsulation.policy().phaseTimeout(), () -> {
              m.driver.resume();
              return null;
            }).result().exceptionally(x -> null)).toArray(CompletableFuture[]::new))
        .whenComplete((v, x) -> {
          closeDrivers();
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

  private CompletableFuture<Void> byLevels(List<List<String>> levels, Function<Member, CompletableFuture<?>> f) {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (List<String> level : levels) {
      chain = chain.thenCompose(v -> forAll(level.stream().map(members::get).toList(), f));
    }
    return chain;
  }

  private static CompletableFuture<Void> forAll(List<Member> ms, Function<Member, CompletableFuture<?>> f) {
    return CompletableFuture.allOf(ms.stream().map(f).toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> call(Member m, Phase phase, Tasks.Body body) {
    if (cancelled) {
      return CompletableFuture.failedFuture(new CancellationException("restore cancelled"));
    }
    String id = m.captured.id();
    engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.STARTED, null);
    return work.callFor(encapsulation.name(), checkpointId, id, phase.name(), encapsulation.policy().phaseTimeout(),
        body).result().handle((v, e) -> {
      if (e != null) {
        Throwable t = Failures.unwrap(e);
        engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.FAILED, t.toString());
        throw Failures.translate(t, "member " + id + " in " + phase);
      }
      engine.events().phase(encapsulation.name(), checkpointId, id, phase, Status.COMPLETED, null);
      return null;
    });
  }

  private void closeDrivers() {
    for (Member m : all()) {
      try {
        m.driver.close();
      } catch (Exception e) {
        log.debug("closing driver of {}: {}", m.captured.id(), e.toString());
      }
    }
  }

  private final class Member {
    final Resource captured;
    final ResourceDriver driver;
    final RestoreContext context;
    volatile boolean touched;

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
        public void progress(long done, long total) {
          engine.events().progress(encapsulation.name(), checkpointId, captured.id(), done, total);
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
