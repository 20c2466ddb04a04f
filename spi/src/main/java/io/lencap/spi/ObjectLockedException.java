package io.lencap.spi;

import java.io.IOException;
import java.time.Instant;

/** A delete the storage refused because the object is retained ({@link ObjectLock}) until a date. */
public final class ObjectLockedException extends IOException {
  private static final long serialVersionUID = 1L;
  private final Instant lockedUntil;

  public ObjectLockedException(String key, Instant lockedUntil) {
    super(key + " is locked until " + lockedUntil);
    this.lockedUntil = lockedUntil;
  }

  /** The date until which the storage refuses to delete the object. */
  public Instant lockedUntil() {
    return lockedUntil;
  }
}
