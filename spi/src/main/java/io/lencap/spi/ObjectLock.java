package io.lencap.spi;

import java.io.IOException;

/**
 * A backend's write-once retention (S3 Object Lock): an object retained cannot be deleted or overwritten
 * by anyone, Lencap included, before its date. The store retains a checkpoint's manifest and every chunk
 * it names when it commits; a delete of a retained object fails with {@link ObjectLockedException}.
 */
public interface ObjectLock {
  /**
   * Makes the object undeletable until at least the backend's lock period from now. Never shortens a
   * lock. Fails with {@link java.nio.file.NoSuchFileException} when the object is absent.
   */
  void retain(String key) throws IOException;

  /** What the lock is, for messages, e.g. "COMPLIANCE for 30 days". */
  String describe();
}
