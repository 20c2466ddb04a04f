package io.lencap.core;

import io.lencap.api.Checkpoint;
import io.lencap.api.CheckpointDiff;
import io.lencap.api.CollectReport;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.DrillPlan;
import io.lencap.api.DrillReport;
import io.lencap.api.Durability;
import io.lencap.api.Encapsulation;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Lencap;
import io.lencap.api.LencapEvent;
import io.lencap.api.LencapListener;
import io.lencap.api.NotFoundException;
import io.lencap.api.Placement;
import io.lencap.api.PlacementChooser;
import io.lencap.api.Protection;
import io.lencap.api.Retention;
import io.lencap.api.RetentionPlan;
import io.lencap.api.Secret;
import io.lencap.api.SyncReport;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.EngineSettings;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Lencap} with two tiers: captures commit to a fast local store and complete, and {@link Replication}
 * copies each checkpoint to a durable store after. It is two engines, one per store, and delegates: the
 * local engine captures, protects, prunes and verifies as it would alone; this class adds only what needs
 * both stores (durability in listings, restore from the nearest tier, deletion and protection on both).
 *
 * <p>Why a durable store beside the local one ({@code Builder.durableStore(URI)} with its own options,
 * secrets and retention) rather than a list of tiers: the issue, and the HPC libraries it cites (SCR, VeloC),
 * have two levels, fast and durable; a second store is how a user already names a store, and the copy between
 * them is the sync's, which pairs two stores. More levels would be a list of these pairs.
 *
 * <p>A copy starts when the local engine commits a checkpoint (its {@code Committed} event, so captures of a
 * protection are copied too) and when {@link #repair} is called; a checkpoint a dead process left
 * {@code LOCAL} is thus copied by the group's next capture or repair.
 */
final class TieredEngine implements Lencap {
  private static final Logger log = LoggerFactory.getLogger(TieredEngine.class);
  /** The local store's secrets the durable one needs to read and seal what is copied there as it is. */
  private static final List<String> SHARED_SECRETS = List.of("encryption.key", "record.key");

  private final Engine local;
  private final Engine durable;
  private final Replication replication;

  private TieredEngine(Engine local, Engine durable, Retention durableRetention) {
    this.local = local;
    this.durable = durable;
    this.replication = new Replication(local, durable, durableRetention);
    Events events = local.context().events();
    durable.addListener(events::publish); // a restore from the durable tier reports to this instance's listeners
    local.addListener(e -> {
      if (e instanceof LencapEvent.Committed c) {
        replication.replicate(c.encapsulation());
      }
    });
  }

  /** Opens both tiers; {@code settings.durable()} must be present. */
  static TieredEngine open(EngineSettings settings, ProviderRegistry localProviders,
      ProviderRegistry durableProviders) {
    EngineSettings.Tier tier = settings.durable().orElseThrow();
    Map<String, Secret> secrets = new HashMap<>(tier.storeSecrets());
    for (String key : SHARED_SECRETS) {
      Secret mine = settings.storeSecrets().get(key);
      Secret theirs = secrets.get(key);
      if (theirs != null && (mine == null || !mine.reveal().equals(theirs.reveal()))) {
        throw new InvalidSpecException("durableStoreSecrets." + key, "must be left out: the durable store uses the"
            + " local store's (copies are stored as they are)");
      }
      if (mine != null) {
        secrets.put(key, mine);
      }
    }
    Engine local = Engine.open(new EngineSettings(settings.store(), settings.storeOptions(), settings.storeSecrets(),
        settings.executor(), settings.listeners(), settings.clock()), localProviders);
    try {
      Engine durable = Engine.open(new EngineSettings(tier.store(), tier.storeOptions(), secrets, settings.executor(),
          List.of(), settings.clock()), durableProviders);
      // Copies are sent as they are stored: pack what the durable tier would pack (on S3, every chunk).
      local.store().chunks().packAs(durable.store().chunks());
      return new TieredEngine(local, durable, tier.retention());
    } catch (RuntimeException e) {
      local.close();
      throw e;
    }
  }

  Engine local() {
    return local;
  }

  Engine durable() {
    return durable;
  }

  Replication replication() {
    return replication;
  }

  @Override
  public CompletableFuture<Checkpoint> capture(Encapsulation encapsulation) {
    return local.capture(encapsulation); // says LOCAL: the local store commits as CheckpointStore.committedAs
  }

  /**
   * From the local tier when it has the checkpoint, else from the durable tier; also from the durable tier
   * when the local tier's copy turns out damaged (a restore reads and verifies every chunk before it writes).
   */
  @Override
  public CompletableFuture<Checkpoint> restore(Encapsulation encapsulation, String checkpointId, Placement placement) {
    return fromNearest(encapsulation.name(), checkpointId, e -> e.restore(encapsulation, checkpointId, placement));
  }

  /** Runs {@code restore} on the tier {@link #restore} would read, and on the durable one if the local copy is damaged. */
  private CompletableFuture<Checkpoint> fromNearest(String name, String checkpointId,
      java.util.function.Function<Engine, CompletableFuture<Checkpoint>> restore) {
    CompletableFuture<Checkpoint> result = new CompletableFuture<>();
    storeCall(() -> where(name, checkpointId)).thenAccept(tiers -> {
      Durability durability = tiers.durable() ? Durability.REPLICATED : Durability.LOCAL;
      CompletableFuture<Checkpoint> first = restore.apply(tiers.local() || !tiers.durable() ? local : durable);
      result.whenComplete((v, e) -> {
        if (result.isCancelled()) {
          first.cancel(true);
        }
      });
      first.handle((cp, e) -> {
        if (e == null) {
          result.complete(cp.withDurability(durability));
        } else if (tiers.local() && tiers.durable() && Failures.unwrap(e) instanceof CorruptCheckpointException c) {
          log.warn("restoring {} of {} from the durable store: the local copy is damaged ({})", checkpointId, name,
              c.getMessage());
          forward(restore.apply(durable), result, durability);
        } else {
          result.completeExceptionally(Failures.unwrap(e));
        }
        return null;
      });
    }).exceptionally(e -> {
      result.completeExceptionally(Failures.unwrap(e));
      return null;
    });
    return result;
  }

  private static void forward(CompletableFuture<Checkpoint> from, CompletableFuture<Checkpoint> to,
      Durability durability) {
    from.whenComplete((cp, e) -> {
      if (e != null) {
        to.completeExceptionally(Failures.unwrap(e));
      } else {
        to.complete(cp.withDurability(durability));
      }
    });
  }

  private record Tiers(boolean local, boolean durable) {}

  /** Which tiers hold the checkpoint's manifest; a store that cannot be read holds nothing. */
  private Tiers where(String encapsulation, String id) {
    String key = CheckpointStore.manifestKey(encapsulation, id);
    boolean here;
    try {
      here = local.store().backend().exists(key);
    } catch (IOException e) {
      log.warn("the local store {} cannot be read ({}): restoring from the durable store", local.store().describe(),
          e.toString());
      here = false;
    }
    boolean there;
    try {
      there = durable.store().backend().exists(key);
    } catch (IOException e) {
      log.warn("the durable store {} cannot be read ({}): restoring from the local store", durable.store().describe(),
          e.toString());
      there = false;
    }
    return new Tiers(here, there);
  }

  /** Restores from the nearest tier, as {@link #restore} does. */
  @Override
  public CompletableFuture<DrillReport> drill(Encapsulation encapsulation, String checkpointId, DrillPlan plan) {
    return new DrillRun(this, local.context(), (group, id, sandbox, operationId) -> fromNearest(group.name(), id,
        e -> e.restoreSandbox(group, id, sandbox, operationId)), local.newOperationId(), encapsulation, checkpointId,
        plan).start();
  }

  @Override
  public CompletableFuture<Void> repair(Encapsulation encapsulation) {
    return local.repair(encapsulation).thenCompose(v -> replication.replicate(encapsulation.name())).thenApply(r -> null);
  }

  /** Both tiers' checkpoints, oldest first; REPLICATED when the durable tier has it, else LOCAL. */
  @Override
  public CompletableFuture<List<Checkpoint>> checkpoints(String encapsulation) {
    return local.checkpoints(encapsulation).exceptionally(e -> {
      log.warn("the local store {} cannot be listed: {}", local.store().describe(), e.toString());
      return List.of();
    }).thenCombine(durable.checkpoints(encapsulation).exceptionally(e -> {
      log.warn("the durable store {} cannot be listed: {}", durable.store().describe(), e.toString());
      return List.of();
    }), (mine, theirs) -> {
      Map<String, Checkpoint> all = new LinkedHashMap<>();
      mine.forEach(cp -> all.put(cp.id(), cp.withDurability(Durability.LOCAL)));
      theirs.forEach(cp -> all.put(cp.id(), cp.withDurability(Durability.REPLICATED)));
      List<Checkpoint> out = new ArrayList<>(all.values());
      out.sort(Comparator.comparing(Checkpoint::committedAt).thenComparing(Checkpoint::id));
      return out;
    });
  }

  @Override
  public CompletableFuture<List<String>> encapsulations() {
    return local.encapsulations().thenCombine(durable.encapsulations(), (a, b) -> {
      Set<String> all = new TreeSet<>(a);
      all.addAll(b);
      return List.copyOf(all);
    });
  }

  @Override
  public CompletableFuture<CheckpointDiff> diff(String encapsulation, String fromId, String toId) {
    return orDurable(e -> e.diff(encapsulation, fromId, toId));
  }

  @Override
  public CompletableFuture<CollectReport> collect() {
    return local.collect();
  }

  /**
   * Deletes the checkpoint from both tiers; fails with NotFoundException when neither has it. Runs between the
   * group's copies ({@link Replication#between}): after a copy under way, which would otherwise write the
   * checkpoint on the durable tier after its deletion there, and before the next, which finds it gone.
   */
  @Override
  public CompletableFuture<Void> delete(String encapsulation, String checkpointId) {
    return replication.between(() -> bothTiers(e -> e.delete(encapsulation, checkpointId)));
  }

  /** Applies the rules to the local tier, which keeps every checkpoint whose copy has not arrived. */
  @Override
  public CompletableFuture<RetentionPlan> prune(String encapsulation, Retention retention, boolean dryRun) {
    return local.prune(encapsulation, retention, dryRun);
  }

  /** Sets or lifts the protection on each tier that has the checkpoint. */
  @Override
  public CompletableFuture<Void> setProtected(String encapsulation, String checkpointId, boolean isProtected) {
    return bothTiers(e -> e.setProtected(encapsulation, checkpointId, isProtected));
  }

  @Override
  public CompletableFuture<List<String>> protectedCheckpoints(String encapsulation) {
    return local.protectedCheckpoints(encapsulation).thenCombine(durable.protectedCheckpoints(encapsulation),
        (a, b) -> List.copyOf(new TreeSet<>(concat(a, b))));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** Copies from the local tier to {@code target} (whose local tier, if it has tiers). */
  @Override
  public CompletableFuture<SyncReport> sync(String encapsulation, Lencap target) {
    return local.sync(encapsulation, target instanceof TieredEngine t ? t.local : target);
  }

  @Override
  public CompletableFuture<Void> warmUp() {
    return local.warmUp();
  }

  @Override
  public CompletableFuture<VerifyReport> verify(String encapsulation) {
    return local.verify(encapsulation);
  }

  @Override
  public Protection protect(Encapsulation encapsulation, @Nullable PlacementChooser chooser) {
    return local.protect(encapsulation, chooser);
  }

  @Override
  public List<Protection> protections() {
    return local.protections();
  }

  @Override
  public void addListener(LencapListener listener) {
    local.addListener(listener);
  }

  @Override
  public void removeListener(LencapListener listener) {
    local.removeListener(listener);
  }

  @Override
  public void close() {
    replication.close();
    durable.close();
    local.close();
  }

  /** The local tier's answer, or the durable tier's when the local one has no such checkpoint. */
  private <T> CompletableFuture<T> orDurable(Function<Engine, CompletableFuture<T>> call) {
    return call.apply(local).handle((v, e) -> e == null ? CompletableFuture.completedFuture(v)
        : Failures.unwrap(e) instanceof NotFoundException ? call.apply(durable) : CompletableFuture.<T>failedFuture(
            Failures.unwrap(e))).thenCompose(Function.identity());
  }

  /**
   * Runs on the local tier, then on the durable one unless the local tier refused (protected, being read);
   * fails with NotFoundException only when neither has the checkpoint.
   */
  private CompletableFuture<Void> bothTiers(Function<Engine, CompletableFuture<Void>> call) {
    return call.apply(local).handle((v, e) -> e == null ? null : Failures.unwrap(e)).thenCompose(l -> {
      if (l != null && !(l instanceof NotFoundException)) {
        return CompletableFuture.<Void>failedFuture(l);
      }
      return call.apply(durable).handle((v, e) -> {
        Throwable d = e == null ? null : Failures.unwrap(e);
        if (d != null && (l == null || !(d instanceof NotFoundException))) {
          log.warn("done on the local store, not on the durable one: {}", d.toString());
          if (!(d instanceof NotFoundException)) {
            throw new CompletionException(d);
          }
        }
        if (l != null && d != null) {
          throw new CompletionException(l);
        }
        return null;
      });
    });
  }

  private interface StoreRead<T> {
    T get() throws IOException;
  }

  private <T> CompletableFuture<T> storeCall(StoreRead<T> body) {
    Supplier<T> run = () -> {
      try {
        return body.get();
      } catch (IOException e) {
        throw CheckpointStore.unavailable("store " + durable.store().describe(), e);
      }
    };
    return CompletableFuture.supplyAsync(run, local.context().executor());
  }
}
