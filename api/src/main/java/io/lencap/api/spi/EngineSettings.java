package io.lencap.api.spi;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapListener;
import io.lencap.api.Retention;
import io.lencap.api.Secret;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link io.lencap.api.Lencap.Builder} collected, handed to the engine.
 *
 * @param store where checkpoints live: a {@code file:} URI for the local default, {@code hdfs://},
 *     {@code s3://} and others when their backend is on the class path
 * @param storeOptions backend options (endpoint, region, replication, credentials as secrets)
 * @param storeSecrets credentials and keys for the store; never logged
 * @param executor runs blocking work; empty means Lencap's own bounded pool
 * @param listeners event listeners
 * @param clock time source (tests inject a fake one)
 * @param durable the durable tier, when captures commit to {@code store} and are copied there after
 */
public record EngineSettings(URI store, Map<String, String> storeOptions, Map<String, Secret> storeSecrets,
    Optional<Executor> executor, List<LencapListener> listeners, Clock clock, Optional<Tier> durable) {
  public EngineSettings {
    storeOptions = Map.copyOf(storeOptions);
    storeSecrets = Map.copyOf(storeSecrets);
    listeners = List.copyOf(listeners);
  }

  /** Settings without a durable tier. */
  public EngineSettings(URI store, Map<String, String> storeOptions, Map<String, Secret> storeSecrets,
      Optional<Executor> executor, List<LencapListener> listeners, Clock clock) {
    this(store, storeOptions, storeSecrets, executor, listeners, clock, Optional.empty());
  }

  /**
   * A durable store that checkpoints are copied to after their local commit.
   *
   * @param store the durable store's URI
   * @param storeOptions its backend options
   * @param storeSecrets its credentials; never logged
   * @param retention the rules applied to it after each copy (its newest checkpoint is always kept)
   */
  public record Tier(URI store, Map<String, String> storeOptions, Map<String, Secret> storeSecrets,
      Retention retention) {
    public Tier {
      required("durableStore", store);
      storeOptions = Map.copyOf(required("durableStoreOptions", storeOptions));
      storeSecrets = Map.copyOf(required("durableStoreSecrets", storeSecrets));
      required("durableRetention", retention);
    }
  }

  private static <T> T required(String field, @Nullable T value) {
    if (value == null) {
      throw new InvalidSpecException(field, "is required");
    }
    return value;
  }
}
