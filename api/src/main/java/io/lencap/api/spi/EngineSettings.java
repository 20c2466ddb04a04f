package io.lencap.api.spi;

import io.lencap.api.LencapListener;
import io.lencap.api.Secret;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;

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
 */
public record EngineSettings(URI store, Map<String, String> storeOptions, Map<String, Secret> storeSecrets,
    Optional<Executor> executor, List<LencapListener> listeners, Clock clock) {
  public EngineSettings {
    storeOptions = Map.copyOf(storeOptions);
    storeSecrets = Map.copyOf(storeSecrets);
    listeners = List.copyOf(listeners);
  }
}
