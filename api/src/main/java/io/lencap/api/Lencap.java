package io.lencap.api;

import io.lencap.api.spi.EngineProvider;
import io.lencap.api.spi.EngineSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Captures and restores encapsulations into one checkpoint store. Thread-safe; one per store per
 * process; close it to stop its threads.
 *
 * <pre>{@code
 * try (Lencap lencap = Lencap.builder().store(Path.of("/var/lib/lencap")).build()) {
 *   Checkpoint cp = lencap.capture(job).join();
 *   lencap.restore(job, cp.id(), Placement.inPlace()).join();
 * }
 * }</pre>
 *
 * <p>Every method returning a {@link CompletableFuture} runs its blocking work on Lencap's own executor
 * (or the one given to the builder), never on the common pool. Cancelling the future
 * ({@code cancel(true)}) interrupts the providers' calls and undoes the operation as a failure would.
 */
public interface Lencap extends AutoCloseable {

  static Builder builder() {
    return new Builder();
  }

  /**
   * Captures a consistent checkpoint of the whole group at one recovery line, in the policy's mode,
   * incremental to the encapsulation's latest checkpoint. Completes exceptionally with
   * {@link CaptureAbortedException} (cause: the member's error) when any member fails in any phase or
   * the pause budget is exceeded, with {@link ProviderNotFoundException} when no provider supports a
   * member, or with {@link java.util.concurrent.CancellationException} when cancelled; in every case no
   * member stays quiesced and no checkpoint is committed.
   */
  CompletableFuture<Checkpoint> capture(Encapsulation encapsulation);

  /**
   * Restores the group to a checkpoint: storage members first, then VMs, each onto its placement, then
   * resumes them together. Completes with the checkpoint restored, or exceptionally with
   * {@link NotFoundException} (no such checkpoint), {@link InvalidSpecException} (placement names an
   * unknown member, or the encapsulation's members differ from the checkpoint's),
   * {@link CorruptCheckpointException} (a chunk failed verification; nothing is restored from it), or
   * the provider's error translated ({@link UnavailableException}, {@link LencapTimeoutException}).
   */
  CompletableFuture<Checkpoint> restore(Encapsulation encapsulation, String checkpointId, Placement placement);

  /** Restores in place. */
  default CompletableFuture<Checkpoint> restore(Encapsulation encapsulation, String checkpointId) {
    return restore(encapsulation, checkpointId, Placement.inPlace());
  }

  /**
   * Tests that a checkpoint restores: restores the group into the plan's sandbox (every member moved away from the
   * group), probes each restored member with its provider's health check, runs the plan's check, and removes the
   * sandbox (each provider's {@code discarder}). The group itself is never touched: a sandbox target on any member's
   * own locator (for a VM, its connection and domain name), or a directory nested in or around one, is refused
   * before anything is restored. A drill runs beside the group's captures and restores (neither waits for the
   * other); one drill of a group runs at a time. Each probe, the check and each removal has a deadline (the policy's
   * {@code phaseTimeout}; a probe at most a minute). Emits a {@link LencapEvent.Drilled} with the report. Completes
   * with the report, whose {@link DrillReport#passed()} is false when the restore, a probe, the check or the removal
   * failed or passed its deadline; or exceptionally with {@link InvalidSpecException} naming the placement field (a
   * member not moved, or moved onto the group, or a provider that cannot remove what it restores),
   * {@link NotFoundException} (no such checkpoint), {@link LencapException} (another drill of the group is running),
   * or {@link UnavailableException} (the store cannot be read).
   */
  CompletableFuture<DrillReport> drill(Encapsulation encapsulation, String checkpointId, DrillPlan plan);

  /**
   * Finishes what a capture or restore of this encapsulation left undone when its process died (found in
   * the store's journal once that process's lease expired): resumes the members it quiesced, releases its
   * cuts and collects its orphan chunks. With a durable tier, it then copies there the checkpoints whose copy
   * has not arrived, and completes once they have (exceptionally, with the copy's error, when they cannot). Only the members this encapsulation declares are touched, matched
   * by id: nothing read from the store decides what runs or where bytes go. Writers whose storage an
   * interrupted restore left torn stay paused until the group is restored again. Captures and restores
   * repair first by themselves; call this to resume a group at start-up without capturing it. Completes
   * exceptionally with {@link UnavailableException} when the store cannot be read, or with
   * {@link LencapException} naming the members that could not be resumed or the torn storage.
   */
  CompletableFuture<Void> repair(Encapsulation encapsulation);

  /**
   * The committed checkpoints of an encapsulation, oldest first. Completes exceptionally with
   * {@link UnavailableException} when the store cannot be read.
   */
  CompletableFuture<List<Checkpoint>> checkpoints(String encapsulation);

  /**
   * The names of the encapsulations that have committed checkpoints in the store, sorted. Completes
   * exceptionally with {@link UnavailableException} when the store cannot be read.
   */
  CompletableFuture<List<String>> encapsulations();

  /**
   * What changed between two checkpoints of an encapsulation, member by member, read from their manifests
   * (no chunk is read, no member contacted). Completes exceptionally with {@link NotFoundException} when either
   * does not exist, or with {@link UnavailableException} when the store cannot be read.
   */
  CompletableFuture<CheckpointDiff> diff(String encapsulation, String fromId, String toId);

  /**
   * Deletes the chunks that no committed checkpoint and no operation in flight uses (what {@link #delete}
   * does after deleting, for a store whose checkpoints another process deleted). Completes with how many
   * chunks were deleted and how many were left because the storage still retains them (S3 Object Lock), or
   * {@link CollectReport#notRun()} when another collection is running on the store; exceptionally with
   * {@link UnavailableException} when the store cannot be read.
   */
  CompletableFuture<CollectReport> collect();

  /**
   * Deletes a checkpoint and collects the chunks no other checkpoint uses. Completes exceptionally with
   * {@link NotFoundException} when it does not exist, or with {@link LencapException} when it is protected
   * ({@link #setProtected}) or a restore or sync is reading it.
   */
  CompletableFuture<Void> delete(String encapsulation, String checkpointId);

  /**
   * Applies retention rules to an encapsulation's checkpoints now (captures apply their policy's rules after
   * each commit): deletes those no rule keeps, unless protected or read by a restore, then collects the
   * chunks no checkpoint uses. A dry run deletes nothing and returns the same plan. Completes with every
   * checkpoint's fate and why, or exceptionally with {@link UnavailableException} when the store cannot
   * be read.
   */
  CompletableFuture<RetentionPlan> prune(String encapsulation, Retention retention, boolean dryRun);

  /**
   * Protects a checkpoint from retention and {@link #delete}, or lifts that protection. The mark is stored
   * beside the checkpoint, so it holds for every process using the store. Completes exceptionally with
   * {@link NotFoundException} when the checkpoint does not exist.
   */
  CompletableFuture<Void> setProtected(String encapsulation, String checkpointId, boolean isProtected);

  /** Ids of the encapsulation's protected checkpoints, oldest first. */
  CompletableFuture<List<String>> protectedCheckpoints(String encapsulation);

  /**
   * Copies the encapsulation's committed checkpoints that {@code target}'s store lacks into it, oldest
   * first, as stored bytes (an encrypted store's objects stay encrypted: the target needs no key, and
   * restores from the copy need the source's key). Incremental: chunks the target has are not sent. Each
   * chunk is verified against its hash before it is sent and read back after; a checkpoint's manifest is
   * written last, so a copy exists on the target only whole. A sync that dies is completed by running it
   * again. Captures, retention and collections may run on either store meanwhile: the checkpoint being
   * copied is held on the source, its chunks named on the target. Completes with what was copied, or
   * exceptionally with {@link InvalidSpecException} when {@code target} is not a Lencap engine or is this
   * instance, {@link UnavailableException} when a store cannot be read or written,
   * {@link CorruptCheckpointException} when a source chunk is damaged (nothing of that checkpoint is
   * committed on the target), or {@link LencapException} when another sync of the group is running.
   */
  CompletableFuture<SyncReport> sync(String encapsulation, Lencap target);

  /**
   * Re-reads and re-hashes every chunk of every checkpoint of the encapsulation. Completes with a report
   * listing each problem found (it does not fail on corruption), or exceptionally with
   * {@link UnavailableException} when the store cannot be read.
   */
  CompletableFuture<VerifyReport> verify(String encapsulation);

  /**
   * Compiles Lencap's data paths before a first capture needs them. In a fresh JVM the first capture spends about as
   * much CPU again on the JIT compiler as on its work (BENCHMARKS.md, "Cold start"): a scheduler or launcher that
   * captures minutes after it starts can call this at start-up. It runs, on a thread of its own, two captures and a
   * restore of a small synthetic member (16 MiB and 400 small files, about 2 s of CPU) into a temporary store in
   * {@code java.io.tmpdir}, deleted after, and checks every byte restored; the stores and groups of this instance are
   * not touched. Completes when done, or exceptionally if any of it failed. A one-shot command gains nothing from it.
   */
  CompletableFuture<Void> warmUp();

  /**
   * Protects an encapsulation as its policy says: captures it on the policy's interval (fixed, or
   * Young/Daly's from the MTBF and the measured capture cost), watches its members (provider events and
   * probes, with confirmation so that a brief pause is not a failure), and reacts to a failure
   * ({@link ResiliencyPolicy#onFailure()}). A protection lives as long as this instance: a new process
   * protects what it declares again (nothing read from the store starts work). Throws {@link InvalidSpecException} when the encapsulation is
   * already protected here, or when the policy restores elsewhere and no chooser is given.
   */
  Protection protect(Encapsulation encapsulation, @Nullable PlacementChooser chooser);

  /** Protects with in-place restores only. */
  default Protection protect(Encapsulation encapsulation) {
    return protect(encapsulation, null);
  }

  /** The encapsulations this instance protects. */
  List<Protection> protections();

  /** Adds a listener for events of every operation of this instance. */
  void addListener(LencapListener listener);

  void removeListener(LencapListener listener);

  /** Stops Lencap's threads and closes the store and providers. Operations under way are cancelled. */
  @Override
  void close();

  /** Configures and opens a {@link Lencap}. */
  final class Builder {
    private @Nullable URI store;
    private final Map<String, String> storeOptions = new TreeMap<>();
    private final Map<String, Secret> storeSecrets = new TreeMap<>();
    private @Nullable Executor executor;
    private final List<LencapListener> listeners = new ArrayList<>();
    private @Nullable Clock clock;
    private @Nullable URI durableStore;
    private final Map<String, String> durableOptions = new TreeMap<>();
    private final Map<String, Secret> durableSecrets = new TreeMap<>();
    private @Nullable Retention durableRetention;

    private Builder() {}

    /** The checkpoint store, by URI ({@code file:/var/lib/lencap}, {@code hdfs://nn:8020/lencap}, ...). */
    public Builder store(URI store) {
      Check.unset("store", this.store);
      this.store = Check.present("store", store);
      if (!store.isAbsolute()) {
        throw new InvalidSpecException("store", "'" + store + "' must be an absolute URI (file:, hdfs:, s3:)");
      }
      return this;
    }

    /** A local directory as the checkpoint store (created if missing). */
    public Builder store(Path directory) {
      return store(Check.present("store", directory).toAbsolutePath().toUri());
    }

    public Builder storeOption(String key, String value) {
      Check.unset("storeOptions." + key, storeOptions.get(key));
      storeOptions.put(Check.present("storeOptions", key), Check.present("storeOptions." + key, value));
      return this;
    }

    public Builder storeSecret(String key, Secret value) {
      Check.unset("storeSecrets." + key, storeSecrets.get(key));
      storeSecrets.put(Check.present("storeSecrets", key), Check.present("storeSecrets." + key, value));
      return this;
    }

    /** Runs Lencap's blocking work; Lencap never shuts it down. It must not be the common pool. */
    public Builder executor(Executor executor) {
      Check.unset("executor", this.executor);
      this.executor = Check.present("executor", executor);
      return this;
    }

    public Builder listener(LencapListener listener) {
      listeners.add(Check.present("listener", listener));
      return this;
    }

    /**
     * A durable tier: captures commit to {@link #store} (a fast local store) and complete; each checkpoint is
     * then copied here in the background, as {@link Lencap#sync} copies (verified on arrival, resumable).
     * {@link Checkpoint#durability()} and the events {@link LencapEvent.Replicated} and
     * {@link LencapEvent.ReplicationFailed} say whether the copy has arrived; restores read the local tier
     * first and this one when the local tier lacks the checkpoint. The local tier's retention keeps every
     * checkpoint whose copy has not arrived. The durable store gets the local store's {@code encryption.key}
     * and {@code record.key} secrets (its copies are encrypted with the local key); its own credentials are
     * {@link #durableStoreSecret}s. See docs/TIERS.md.
     */
    public Builder durableStore(URI store) {
      Check.unset("durableStore", this.durableStore);
      this.durableStore = Check.present("durableStore", store);
      if (!store.isAbsolute()) {
        throw new InvalidSpecException("durableStore", "'" + store + "' must be an absolute URI (file:, hdfs:, s3:)");
      }
      return this;
    }

    /** A backend option of the durable store ({@link #storeOption} for it). */
    public Builder durableStoreOption(String key, String value) {
      Check.unset("durableStoreOptions." + key, durableOptions.get(key));
      durableOptions.put(Check.present("durableStoreOptions", key),
          Check.present("durableStoreOptions." + key, value));
      return this;
    }

    /** A credential of the durable store ({@link #storeSecret} for it); never logged. */
    public Builder durableStoreSecret(String key, Secret value) {
      Check.unset("durableStoreSecrets." + key, durableSecrets.get(key));
      durableSecrets.put(Check.present("durableStoreSecrets", key), Check.present("durableStoreSecrets." + key, value));
      return this;
    }

    /**
     * Retention on the durable store, applied after each copy; by default it keeps everything. Its newest
     * checkpoint is always kept (it is what the local tier counts its copies from).
     */
    public Builder durableRetention(Retention retention) {
      Check.unset("durableRetention", this.durableRetention);
      this.durableRetention = Check.present("durableRetention", retention);
      return this;
    }

    public Builder clock(Clock clock) {
      Check.unset("clock", this.clock);
      this.clock = Check.present("clock", clock);
      return this;
    }

    /**
     * Opens the store and returns the instance. It acts on nothing it finds there: operations that a dead
     * process left unfinished are logged, and repaired when their encapsulation is next named
     * ({@link Lencap#repair}). Throws {@link InvalidSpecException} when no store was given,
     * {@link UnavailableException} when the store cannot be opened, and {@link LencapException} when no
     * engine (lencap-core) is on the class or module path.
     */
    public Lencap build() {
      URI storeUri = Check.present("store", store);
      if (durableStore == null && (!durableOptions.isEmpty() || !durableSecrets.isEmpty() || durableRetention != null)) {
        throw new InvalidSpecException("durableStore", "is required when durable options, secrets or retention are set");
      }
      if (durableStore != null && StoreLocation.same(storeUri, durableStore)) {
        throw new InvalidSpecException("durableStore", "must be another store than the local one: '" + durableStore
            + "' is '" + storeUri + "' spelled another way");
      }
      Optional<EngineSettings.Tier> durable = durableStore == null ? Optional.empty()
          : Optional.of(new EngineSettings.Tier(durableStore, durableOptions, durableSecrets,
              durableRetention == null ? Retention.keepAll() : durableRetention));
      EngineSettings settings = new EngineSettings(storeUri, storeOptions, storeSecrets, Optional.ofNullable(executor),
          listeners, clock == null ? Clock.systemUTC() : clock, durable);
      List<String> problems = new ArrayList<>();
      var it = ServiceLoader.load(EngineProvider.class, Lencap.class.getClassLoader()).iterator();
      while (true) {
        try {
          if (!it.hasNext()) {
            break;
          }
          return it.next().open(settings);
        } catch (ServiceConfigurationError e) {
          problems.add(e.getMessage());
        }
      }
      throw new LencapException("no Lencap engine found: add io.lencap:lencap-core to the class or module path"
          + (problems.isEmpty() ? "" : "; engines that failed to load: " + problems));
    }
  }
}
