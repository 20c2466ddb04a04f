package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.CheckpointDiff;
import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapException;
import io.lencap.api.LencapListener;
import io.lencap.api.Placement;
import io.lencap.api.PlacementChooser;
import io.lencap.api.Protection;
import io.lencap.api.Reaction;
import io.lencap.api.Resource;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.SyncReport;
import io.lencap.api.UnavailableException;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.EngineSettings;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.ProviderContext;
import io.lencap.spi.StorageSnapshot;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind {@link Lencap}: opens the store, starts captures, restores and protections, and lets at
 * most one capture or restore of an encapsulation run at a time in this process.
 */
final class Engine implements Lencap {
  private static final Logger log = LoggerFactory.getLogger(Engine.class);
  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final EngineSettings settings;
  private final CheckpointStore store;
  private final ProviderRegistry providers;
  private final EngineThreads threads;
  private final Executor executor;
  private final Events events;
  private final Path workDirectory;
  private final JournalRecord.Owner owner;
  /** The capture or restore of each encapsulation running in this process (leases exclude other processes). */
  private final Map<String, CompletableFuture<?>> operations = new ConcurrentHashMap<>();
  private final RunContext context;
  private final Map<String, Protector> protectors = new ConcurrentHashMap<>();
  /** Drills' restores into their sandboxes, which run beside the group's operations: closing cancels them. */
  private final java.util.Set<CompletableFuture<Checkpoint>> sandboxRestores = ConcurrentHashMap.newKeySet();
  /** Captures still undoing after their result completed (a member's call hung): closing waits for them. */
  private final java.util.Set<CompletableFuture<Void>> settling = ConcurrentHashMap.newKeySet();

  private Engine(EngineSettings settings, BlobBackend backend, ProviderRegistry providers) throws IOException {
    this.settings = settings;
    this.providers = providers;
    this.threads = new EngineThreads(settings.executor(), backend.concurrency());
    this.executor = threads.executor;
    this.events = new Events(settings.clock(), settings.listeners(), threads.eventThread);
    this.owner = currentProcess();
    Duration skew = EngineOptions.duration(settings, "gc.clockSkew", Duration.ZERO);
    RecordSeal seal = RecordSeal.of(settings.storeSecrets(), settings.storeOptions());
    Duration lease = EngineOptions.duration(settings, "journal.lease", Duration.ofSeconds(30));
    Leases leases = new Leases(backend, seal, owner, lease, threads.timer);
    this.store = new CheckpointStore(backend,
        ChunkCodec.of(Optional.ofNullable(settings.storeSecrets().get("encryption.key"))), seal, leases, skew);
    store.chunks().packing(EngineOptions.flag(settings, "packs", true));
    this.workDirectory = EngineOptions.workDirectory(settings);
    Files.createDirectories(workDirectory);
    ProviderContext providerContext = new ProviderContext() {
      @Override
      public Path workDirectory() {
        return workDirectory;
      }

      @Override
      public Clock clock() {
        return settings.clock();
      }

      @Override
      public Optional<StorageSnapshot> storageSnapshot(Resource resource) {
        return providers.storageSnapshot(resource);
      }
    };
    this.context = new RunContext(store, providers, providerContext, executor, threads.chunkPool, threads.storePool,
        threads.resumePool, threads.timer,
        events, settings.clock(), Ticker.system(), owner);
  }

  static Engine open(EngineSettings settings) {
    return open(settings, new ProviderRegistry(Engine.class.getClassLoader()));
  }

  /** Opens over given providers instead of those on the class path (tests). */
  static Engine open(EngineSettings settings, ProviderRegistry providers) {
    BlobBackend opened = providers.openBackend(settings.store(), settings.storeOptions(), settings.storeSecrets());
    BlobBackend backend = opened;
    try {
      backend = LimitedBackend.wrap(opened, settings.storeOptions());
      Engine engine = new Engine(settings, backend, providers);
      engine.reportInterrupted();
      return engine;
    } catch (IOException e) {
      throw new UnavailableException("cannot open the store " + backend.describe() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Says which operations a dead process left unfinished. Opening acts on none of them: each is repaired
   * when the application names its encapsulation again ({@link #repair}, or its next capture or restore).
   */
  private void reportInterrupted() throws IOException {
    for (JournalRecord r : store.journal()) {
      if (!CheckpointCopy.running(store.leases(), r)) {
        log.warn("{} {} of {} was interrupted (process {} on {}); it is repaired when {} is next captured, restored"
            + " or repaired", r.kind().name().toLowerCase(java.util.Locale.ROOT), r.operationId(), r.encapsulation(),
            r.owner().pid(), r.owner().host(), r.encapsulation());
      }
    }
  }

  private static JournalRecord.Owner currentProcess() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    ProcessHandle self = ProcessHandle.current();
    return new JournalRecord.Owner(host, self.pid(), self.info().startInstant().orElse(Instant.EPOCH));
  }

  // ---- what runs use ----

  /** What captures, restores, repairs and protections use. */
  RunContext context() {
    return context;
  }

  CheckpointStore store() {
    return store;
  }

  JournalRecord.Owner owner() {
    return owner;
  }

  // ---- Lencap ----

  String newOperationId() {
    return ID_TIME.format(settings.clock().instant()) + "-"
        + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  }

  @Override
  public CompletableFuture<Checkpoint> capture(Encapsulation encapsulation) {
    CompletableFuture<?>[] self = new CompletableFuture<?>[1];
    CaptureRun run = new CaptureRun(context, encapsulation, newOperationId(),
        () -> operations.remove(encapsulation.name(), self[0]));
    self[0] = run.result();
    CompletableFuture<?> other = operations.putIfAbsent(encapsulation.name(), run.result());
    if (other != null) {
      return CompletableFuture.failedFuture(new LencapException("a capture or restore of " + encapsulation.name()
          + " is already running in this process; wait for it to complete"));
    }
    settling.add(run.settled());
    run.settled().whenComplete((v, e) -> settling.remove(run.settled()));
    return run.start();
  }

  /**
   * Starts once the capture or restore of the same encapsulation running here has completed (a protection
   * restores right after cancelling its capture, which completes only once its cuts are released).
   */
  @Override
  public CompletableFuture<Checkpoint> restore(Encapsulation encapsulation, String checkpointId, Placement placement) {
    CompletableFuture<Checkpoint> result = new CompletableFuture<>();
    restoreAfterOthers(result, () -> new RestoreRun(context, encapsulation, newOperationId(), checkpointId, placement),
        encapsulation.name());
    return result;
  }

  /**
   * Starts the restore once the capture or restore of the same encapsulation running here has completed: a
   * protection restores right after cancelling its capture, which completes only once its cuts are released.
   */
  private void restoreAfterOthers(CompletableFuture<Checkpoint> result, Supplier<RestoreRun> run, String name) {
    if (result.isDone()) {
      return; // cancelled while waiting
    }
    CompletableFuture<?> other = operations.putIfAbsent(name, result);
    if (other != null) {
      other.handle((v, e) -> null).thenRunAsync(() -> restoreAfterOthers(result, run, name), executor);
      return;
    }
    CompletableFuture<Checkpoint> running = run.get().start();
    result.whenComplete((v, e) -> {
      if (result.isCancelled()) {
        running.cancel(true);
      }
    });
    running.whenComplete((cp, e) -> {
      operations.remove(name, result);
      if (e != null) {
        result.completeExceptionally(Failures.unwrap(e));
      } else {
        result.complete(cp);
      }
    });
  }

  @Override
  public CompletableFuture<DrillReport> drill(Encapsulation encapsulation, String checkpointId, DrillPlan plan) {
    return new DrillRun(this, context, this::restoreSandbox, newOperationId(), encapsulation, checkpointId, plan)
        .start();
  }

  /**
   * A drill's restore into its sandbox: starts at once, beside any capture or restore of the group (it touches none
   * of the group's members), and excludes only another drill of the group ({@link DrillRun#scope}).
   */
  CompletableFuture<Checkpoint> restoreSandbox(Encapsulation encapsulation, String checkpointId, Placement sandbox,
      String operationId) {
    CompletableFuture<Checkpoint> running =
        RestoreRun.intoSandbox(context, encapsulation, operationId, checkpointId, sandbox).start();
    sandboxRestores.add(running);
    running.whenComplete((cp, e) -> sandboxRestores.remove(running));
    return running;
  }

  @Override
  public CompletableFuture<Void> repair(Encapsulation encapsulation) {
    return storeCall("repair " + encapsulation.name(), () -> {
      try {
        new Repair(context).run(encapsulation);
      } catch (IOException e) {
        throw CheckpointStore.unavailable("store " + store.describe(), e);
      }
      return null;
    });
  }

  @Override
  public CompletableFuture<List<Checkpoint>> checkpoints(String encapsulation) {
    return storeCall("list the checkpoints of " + encapsulation,
        () -> read(() -> store.manifests(encapsulation)).stream().map(Manifest::toCheckpoint).toList());
  }

  @Override
  public CompletableFuture<List<String>> encapsulations() {
    return storeCall("list the encapsulations", () -> read(store::encapsulations));
  }

  @Override
  public CompletableFuture<CheckpointDiff> diff(String encapsulation, String fromId, String toId) {
    return storeCall("compare " + fromId + " with " + toId, () -> read(() -> CheckpointComparison.compare(
        store.manifest(encapsulation, fromId), store.manifest(encapsulation, toId))));
  }

  @Override
  public CompletableFuture<io.lencap.api.CollectReport> collect() {
    return storeCall("collect unused chunks", () -> read(store::collect));
  }

  @Override
  public CompletableFuture<Void> delete(String encapsulation, String checkpointId) {
    return storeCall("delete checkpoint " + checkpointId, () -> {
      read(() -> {
        store.delete(encapsulation, checkpointId);
        return store.collect();
      });
      return null;
    });
  }

  @Override
  public CompletableFuture<RetentionPlan> prune(String encapsulation, Retention retention, boolean dryRun) {
    return storeCall("prune " + encapsulation, () -> read(() -> {
      RetentionPlan plan = new CheckpointRetention(store).prune(encapsulation, retention, dryRun);
      if (!plan.dryRun() && !plan.removed().isEmpty()) {
        store.collect();
      }
      return plan;
    }));
  }

  @Override
  public CompletableFuture<Void> setProtected(String encapsulation, String checkpointId, boolean isProtected) {
    return storeCall((isProtected ? "protect" : "unprotect") + " checkpoint " + checkpointId, () -> read(() -> {
      new CheckpointRetention(store).setProtected(encapsulation, checkpointId, isProtected);
      return null;
    }));
  }

  @Override
  public CompletableFuture<List<String>> protectedCheckpoints(String encapsulation) {
    return storeCall("list the protected checkpoints of " + encapsulation,
        () -> read(() -> new CheckpointRetention(store).protectedCheckpoints(encapsulation)));
  }

  @Override
  public CompletableFuture<SyncReport> sync(String encapsulation, Lencap target) {
    if (!(target instanceof Engine to) || to == this) {
      return CompletableFuture.failedFuture(new InvalidSpecException("target",
          "must be another Lencap instance of this engine, opened on the target store"));
    }
    return storeCall("sync " + encapsulation + " to " + to.store.describe(), () -> read(() ->
        new CheckpointCopy(store, to.store, owner, settings.clock(), to.context.storePool(),
            Duration.ofMinutes(10)).copy(encapsulation)));
  }

  @Override
  public CompletableFuture<Void> warmUp() {
    return WarmUp.start();
  }

  @Override
  public CompletableFuture<VerifyReport> verify(String encapsulation) {
    return storeCall("verify " + encapsulation, () -> read(() -> store.verify(encapsulation)));
  }

  @Override
  public Protection protect(Encapsulation encapsulation, PlacementChooser chooser) {
    if (encapsulation.policy().onFailure() == Reaction.RESTORE_ELSEWHERE && chooser == null) {
      throw new InvalidSpecException("policy.onFailure", "RESTORE_ELSEWHERE needs a PlacementChooser");
    }
    Protector p = new Protector(this, encapsulation, chooser);
    if (protectors.putIfAbsent(encapsulation.name(), p) != null) {
      throw new InvalidSpecException("encapsulation.name", encapsulation.name() + " is already protected here");
    }
    p.start();
    return p;
  }

  @Override
  public List<Protection> protections() {
    return List.copyOf(protectors.values());
  }

  void unprotect(Protector p) {
    protectors.remove(p.encapsulation().name(), p);
  }

  @Override
  public void addListener(LencapListener listener) {
    events.add(listener);
  }

  @Override
  public void removeListener(LencapListener listener) {
    events.remove(listener);
  }

  @Override
  public void close() {
    protectors.values().forEach(Protector::stop);
    List<CompletableFuture<?>> running = new ArrayList<>(operations.values());
    running.addAll(sandboxRestores);
    running.forEach(f -> f.cancel(true));
    running.addAll(settling);
    try {
      // Cancelled captures resume their members on our threads: let them finish before the threads go.
      CompletableFuture.allOf(running.stream().map(f -> f.exceptionally(x -> null)).toArray(CompletableFuture[]::new))
          .get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("closing while captures were still undoing: {}", e.toString());
    }
    store.leases().close();
    threads.close();
    providers.close();
    try {
      store.close();
    } catch (Exception e) {
      log.warn("closing the store: {}", e.toString());
    }
  }

  private interface StoreRead<T> {
    T get() throws IOException;
  }

  private <T> T read(StoreRead<T> r) {
    try {
      return r.get();
    } catch (IOException e) {
      throw CheckpointStore.unavailable("store " + store.describe(), e);
    }
  }

  private <T> CompletableFuture<T> storeCall(String what, Supplier<T> body) {
    return CompletableFuture.supplyAsync(body, executor)
        .handle((v, e) -> {
          if (e != null) {
            throw Failures.translate(e, what);
          }
          return v;
        });
  }
}
