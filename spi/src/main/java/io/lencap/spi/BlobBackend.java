package io.lencap.spi;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where the checkpoint store keeps its objects: chunks, manifests, journal records. Keys are relative,
 * '/'-separated names of letters, digits, '.', '_', '-'. Objects are small (at most a few MiB) and
 * written whole. Thread-safe. The store builds dedup, atomic commit and collection on these few calls,
 * so a backend is a thin adapter (a directory, HDFS, S3).
 */
public interface BlobBackend extends AutoCloseable {
  /** Where the objects live, for messages; never credentials. */
  String describe();

  /** Writes an object, replacing any; readers see the old or the new object whole, never a part. */
  void put(String key, byte[] data) throws IOException;

  /**
   * Writes an object only if none exists under the key (a conditional create where the backend has one).
   * Returns false, writing nothing, when one exists.
   */
  boolean putIfAbsent(String key, byte[] data) throws IOException;

  Optional<byte[]> get(String key) throws IOException;

  /**
   * {@code length} bytes of an object from {@code offset}, or empty when the object is absent. Fewer bytes come
   * back when the object ends first (a caller that expects a whole range checks the length). The store reads one
   * chunk of a pack this way. The default reads the whole object; backends with ranged reads override it.
   */
  default Optional<byte[]> getRange(String key, long offset, int length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " of " + key);
    }
    return get(key).map(all -> java.util.Arrays.copyOfRange(all, (int) Math.min(offset, all.length),
        (int) Math.min(offset + length, all.length)));
  }

  boolean exists(String key) throws IOException;

  /** Objects whose key starts with the prefix, in no particular order. */
  List<BlobInfo> list(String prefix) throws IOException;

  /**
   * One object's size and modification time (the storage's own clock), or empty when it is absent. The
   * default lists the key as a prefix; backends with a cheaper look-up override it.
   */
  default Optional<BlobInfo> stat(String key) throws IOException {
    return list(key).stream().filter(i -> i.key().equals(key)).findFirst();
  }

  /**
   * Deletes an object; no error when it is absent. Fails with {@link ObjectLockedException} when the
   * storage retains the object until a later date.
   */
  void delete(String key) throws IOException;

  /**
   * How many requests this backend serves well at once: the store keeps up to that many chunk writes in
   * flight, and reads as many chunks ahead, on its own I/O threads. A remote object store gains from many
   * (their latencies overlap), a local disk from few.
   */
  default int concurrency() {
    return 4;
  }

  /**
   * Chunks of fewer bytes than this are written into packs of a few MiB instead of an object each: below it, an
   * object of its own costs more than its bytes do. The default suits a local file system, where a file per chunk
   * of 128 KiB or more costs little; a backend that pays a round trip or a NameNode transaction per object packs
   * every chunk.
   */
  default int packBelow() {
    return 128 << 10;
  }

  /**
   * The bytes a pack is filled to before it is written. The default, 4 MiB, suits a local file system and an object
   * store; a backend whose every object costs a sync on several machines (HDFS) writes larger ones. A capture holds a
   * few packs in memory while they are written.
   */
  default int packSize() {
    return 4 << 20;
  }

  /**
   * Makes every object written so far durable. The store calls it before it commits a manifest. A
   * backend whose writes are durable on return (HDFS, S3) does nothing.
   */
  default void flush() throws IOException {}

  /** The backend's write-once retention, when its store is configured with one. */
  default Optional<ObjectLock> objectLock() {
    return Optional.empty();
  }

  @Override
  default void close() throws IOException {}
}
