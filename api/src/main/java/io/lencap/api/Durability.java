package io.lencap.api;

/**
 * Where a {@link Checkpoint} is stored, for an instance with a durable tier
 * ({@link Lencap.Builder#durableStore}).
 */
public enum Durability {
  /** The instance has one store: the checkpoint is as durable as that store. */
  SINGLE_STORE,
  /**
   * Committed to the local tier only: its copy to the durable store has not arrived yet (it is under way,
   * failed, or its process died first). Retention on the local tier keeps it until the copy arrives.
   */
  LOCAL,
  /** Its copy on the durable store is committed and was verified on arrival. */
  REPLICATED
}
