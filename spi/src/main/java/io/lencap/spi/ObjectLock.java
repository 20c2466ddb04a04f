package io.lencap.spi;

import java.io.IOException;
import java.util.Collection;

/**
 * A backend's write-once retention (S3 Object Lock): an object retained cannot be deleted or overwritten
 * by anyone, Lencap included, before its date. The store retains a checkpoint's manifest and every chunk
 * it names when it commits; a delete of a retained object fails with {@link ObjectLockedException}.
 */
public interface ObjectLock {
  /**
   * Makes the objects undeletable until at least the backend's lock period from now; never shortens a lock.
   * A backend may serve the keys concurrently (a commit retains every chunk of a checkpoint at once). Fails
   * with {@link java.nio.file.NoSuchFileException} when an object is absent.
   */
  void retain(Collection<String> keys) throws IOException;

  /** What the lock is, for messages, e.g. "COMPLIANCE for 30 days". */
  String describe();
}
