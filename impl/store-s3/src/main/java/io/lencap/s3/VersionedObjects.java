package io.lencap.s3;

import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLockedException;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;

/**
 * The S3 backend's operations in a versioned bucket (every Object Lock bucket is one), where a plain
 * DELETE only adds a delete marker and an overwrite keeps the old version: creates decided by version
 * order, listings and deletes by version, so that a marker never hides an object from Lencap and a
 * collection really frees space.
 */
final class VersionedObjects {
  private static final Logger log = LoggerFactory.getLogger(VersionedObjects.class);

  private final S3Backend backend;
  private final S3AsyncClient client;
  private final String bucket;
  private final String prefix;

  VersionedObjects(S3Backend backend, S3AsyncClient client, String bucket, String prefix) {
    this.backend = backend;
    this.client = client;
    this.bucket = bucket;
    this.prefix = prefix;
  }

  Versions versions(String name) throws IOException {
    String full = prefix + name;
    return Versions.of(full, backend.await(client.listObjectVersions(b -> b.bucket(bucket).prefix(full)),
        "list the versions of " + name));
  }

  /**
   * A conditional create. Ceph RGW 16 ignores If-None-Match in a versioned bucket (measured: a second
   * create of one key answers 200 and adds a version). The put still carries the header for servers that
   * honour it; then the key's versions decide: the oldest data version was created first, every writer
   * lists the same order, so exactly one writer finds its own version oldest and wins. A loser deletes its
   * version (nothing locks it: the store locks only what it created). A version hidden by a delete marker
   * still counts, as reads see past markers.
   */
  boolean createFirst(String name, byte[] data) throws IOException {
    AtomicInteger attempts = new AtomicInteger();
    String mine;
    try {
      mine = backend.upload(name, data, true, attempts).versionId();
    } catch (IOException e) {
      if (S3Backend.status(e) == 412) {
        return false;
      }
      throw e;
    }
    List<ObjectVersion> all = versions(name).data();
    if (all.isEmpty() || all.get(all.size() - 1).versionId().equals(mine)) {
      return true;
    }
    deleteVersion(name, mine, false);
    // A retried put may have stored our first attempt as the oldest version: then it is ours.
    ObjectVersion first = all.get(all.size() - 1);
    return attempts.get() > 1 && first.eTag() != null && first.eTag().replace("\"", "")
        .equals(HexFormat.of().formatHex(Base64.getDecoder().decode(S3Backend.md5(data))));
  }

  /** After an overwrite: deletes the older versions, except those a lock holds until their date. */
  void dropOlder(String name) throws IOException {
    for (ObjectVersion old : versions(name).older()) {
      deleteVersion(name, old.versionId(), true);
    }
  }

  /** Keys with a data version, whether or not a delete marker hides it; the newest version's size and time. */
  List<BlobInfo> list(String under, String skipped) throws IOException {
    Map<String, BlobInfo> out = new LinkedHashMap<>();
    String keyMarker = null;
    String versionMarker = null;
    ListObjectVersionsResponse page;
    do {
      String k = keyMarker;
      String v = versionMarker;
      page = backend.await(client.listObjectVersions(b -> b.bucket(bucket).prefix(prefix + under).keyMarker(k)
          .versionIdMarker(v)), "list " + under);
      for (ObjectVersion o : page.versions()) { // newest first per key
        String key = o.key().substring(prefix.length());
        if (!key.startsWith(skipped)) {
          out.putIfAbsent(key, new BlobInfo(key, o.size(), S3Backend.latestPossible(o.lastModified())));
        }
      }
      keyMarker = page.nextKeyMarker();
      versionMarker = page.nextVersionIdMarker();
    } while (Boolean.TRUE.equals(page.isTruncated()) && keyMarker != null);
    return new ArrayList<>(out.values());
  }

  /**
   * Deletes every version of the key, then its delete markers. A version Object Lock retains is left, and
   * the delete fails with {@link ObjectLockedException} naming the latest date.
   */
  void delete(String name) throws IOException {
    Versions versions = versions(name);
    Instant lockedUntil = null;
    for (ObjectVersion v : versions.data()) {
      Optional<Instant> locked = deleteVersion(name, v.versionId(), false);
      if (locked.isPresent() && (lockedUntil == null || locked.get().isAfter(lockedUntil))) {
        lockedUntil = locked.get();
      }
    }
    if (lockedUntil != null) {
      throw new ObjectLockedException(backend.describe() + ": " + name, lockedUntil);
    }
    for (String marker : versions.markers()) {
      deleteVersion(name, marker, false);
    }
  }

  /** Deletes one version; returns the date a lock holds it until instead, or fails when it cannot say. */
  private Optional<Instant> deleteVersion(String name, String versionId, boolean quiet) throws IOException {
    try {
      backend.await(client.deleteObject(b -> b.bucket(bucket).key(prefix + name).versionId(versionId)),
          "delete " + name + " version " + versionId);
      return Optional.empty();
    } catch (IOException e) {
      if (S3Backend.status(e) != 403) {
        throw e;
      }
      Instant until;
      try {
        until = backend.await(client.getObjectRetention(b -> b.bucket(bucket).key(prefix + name)
            .versionId(versionId)), "read the lock of " + name).retention().retainUntilDate();
      } catch (IOException unlocked) {
        if (quiet) {
          return Optional.empty();
        }
        throw e; // no retention: the refusal is about permissions
      }
      if (!quiet) {
        log.debug("{}: {} version {} is locked until {}", backend.describe(), name, versionId, until);
      }
      return Optional.of(until);
    }
  }
}
