package io.lencap.core;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.UnavailableException;
import io.lencap.api.VerifyReport;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The content-addressed checkpoint store over a {@link BlobBackend}. Layout:
 * <pre>
 *   chunks/ab/abcd...      a chunk, named by the SHA-256 of its raw bytes (format byte + payload)
 *   checkpoints/NAME/ID    a committed manifest; its presence is the commit
 *   journal/OPERATION      authenticated record of a capture or restore in flight (crash repair, pins)
 *   leases/SCOPE/ID        a live operation's lease ({@link Leases})
 *   gc/generation          changed when a collection starts and when it ends
 * </pre>
 *
 * <p>Commit and collection never race for a chunk, whatever the clocks say. A collection holds the
 * {@code _collect} lease, then reads the journal, then the manifests, and deletes only chunks that neither
 * names. A capture, before it commits, names in its journal record every chunk of its manifest, waits
 * until no collection is live, and, if any collection ran since it started (the generation changed),
 * checks that each of them is still there. So a chunk is either named before a collection reads the
 * journal, or checked after that collection ended. Time only decides which fresh, still unnamed chunks a
 * collection spares (those written since the oldest operation in flight started, by the storage's clock).
 *
 * <p>A chunk that exists is not taken as intact: a write that finds one of another size replaces it,
 * and a chunk reused without being written is checked for a size its length allows before commit.
 */
final class CheckpointStore implements AutoCloseable, Journal {
  private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);
  static final String CHUNKS = "chunks/";
  static final String CHECKPOINTS = "checkpoints/";
  static final String JOURNAL = "journal/";
  private static final String GENERATION = "gc/generation";
  /** Above this many chunks to prove, one listing of all chunks is cheaper than a look-up each. */
  private static final int STAT_LIMIT = 2000;

  private final BlobBackend backend;
  private final ChunkCodec codec;
  private final RecordSeal seal;
  private final Leases leases;
  private final Duration clockSkew;
  /** Chunks this process wrote or proved since the collection generation {@link #knownGeneration}. */
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private volatile String knownGeneration = "";
  /** Chunks found damaged: a capture does not reuse stored entries that name them, so it reads them again. */
  private final Set<String> damaged = ConcurrentHashMap.newKeySet();
  /** Manifests are immutable once committed; the cache is bounded, and a deleted one is not served. */
  private final com.google.common.cache.Cache<String, Manifest> manifestCache =
      com.google.common.cache.CacheBuilder.newBuilder().maximumSize(256).build();
  private final Object collectLock = new Object();

  /**
   * @param clockSkew how far apart the clocks of the storage's own servers may be (S3 gateways, HDFS
   *     NameNode failover): widens the window of fresh chunks a collection spares
   */
  CheckpointStore(BlobBackend backend, ChunkCodec codec, RecordSeal seal, Leases leases, Duration clockSkew) {
    this.backend = backend;
    this.codec = codec;
    this.seal = seal;
    this.leases = leases;
    this.clockSkew = clockSkew;
  }

  Leases leases() {
    return leases;
  }

  String describe() {
    return backend.describe();
  }

  ChunkCodec codec() {
    return codec;
  }

  // ---- chunks ----

  static String chunkKey(String id) {
    return CHUNKS + id.substring(0, 2) + "/" + id;
  }

  /** Stores a chunk unless present; returns the bytes it added to the store (0 when deduplicated). */
  long putChunk(String id, byte[] raw) throws IOException {
    return storeChunk(encodeChunk(id, raw));
  }

  /** A chunk encoded for the backend (the CPU half of a put); no bytes when the store has it already. */
  EncodedChunk encodeChunk(String id, byte[] raw) {
    String key = chunkKey(id);
    return new EncodedChunk(id, key, known.contains(id) ? null : codec.encode(key, raw));
  }

  /**
   * Writes an encoded chunk unless present (the I/O half); returns the bytes added, 0 when deduplicated.
   * A present object of another size than this encoding is damaged (encodings of one content have one
   * size): it is replaced.
   */
  long storeChunk(EncodedChunk chunk) throws IOException {
    if (chunk.bytes() == null || known.contains(chunk.id())) {
      return 0;
    }
    boolean created = backend.putIfAbsent(chunk.key(), chunk.bytes());
    if (!created) {
      Optional<BlobInfo> present = backend.stat(chunk.key());
      if (present.isEmpty() || present.get().size() != chunk.bytes().length) {
        log.warn("chunk {} in {} is damaged ({} bytes where {} were expected): replacing it", chunk.id(),
            describe(), present.map(i -> Long.toString(i.size())).orElse("no"), chunk.bytes().length);
        backend.put(chunk.key(), chunk.bytes());
        created = true;
      }
    }
    known.add(chunk.id());
    damaged.remove(chunk.id());
    return created ? chunk.bytes().length : 0;
  }

  /** Whether a chunk was found damaged and not written again since. */
  boolean damaged(String id) {
    return damaged.contains(id);
  }

  /**
   * Of these chunks (id to raw length), those not proven intact: absent, or of a stored size their raw
   * length does not allow. Chunks this process wrote or proved in this collection generation count as
   * proven only when {@code trustKnown}.
   */
  Set<String> unproven(Map<String, Integer> chunks, boolean trustKnown) throws IOException {
    Map<String, Integer> todo = new java.util.HashMap<>();
    chunks.forEach((id, length) -> {
      if (!trustKnown || !known.contains(id)) {
        todo.put(id, length);
      }
    });
    Map<String, Long> sizes = new java.util.HashMap<>();
    if (todo.size() > STAT_LIMIT) {
      for (BlobInfo info : backend.list(CHUNKS)) {
        String id = info.key().substring(info.key().lastIndexOf('/') + 1);
        if (todo.containsKey(id)) {
          sizes.put(id, info.size());
        }
      }
    } else {
      for (String id : todo.keySet()) {
        backend.stat(chunkKey(id)).ifPresent(i -> sizes.put(id, i.size()));
      }
    }
    Set<String> bad = new HashSet<>();
    todo.forEach((id, length) -> {
      Long size = sizes.get(id);
      if (size == null || !codec.plausibleSize(length, size)) {
        bad.add(id);
        known.remove(id);
        damaged.add(id);
      } else {
        known.add(id);
      }
    });
    return bad;
  }

  /** {@code bytes} is null when the store already holds the chunk. */
  record EncodedChunk(String id, String key, byte[] bytes) {}

  /** How many chunk reads or writes to keep in flight: the backend's own figure. */
  int concurrency() {
    return Math.max(1, backend.concurrency());
  }

  /** A chunk's raw bytes after verifying its hash; errors name the checkpoint, member and chunk. */
  ByteBuffer readChunk(ChunkRef ref, String checkpointId, String memberId) throws IOException {
    Optional<byte[]> stored = backend.get(chunkKey(ref.id()));
    if (stored.isEmpty()) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "chunk missing from the store");
    }
    byte[] raw;
    try {
      raw = codec.decode(chunkKey(ref.id()), stored.get(), ref.length());
    } catch (ChunkCodec.UnreadableException e) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), e.getMessage());
    }
    if (raw.length != ref.length() || !codec.id(raw, 0, raw.length).equals(ref.id())) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "content does not match its hash");
    }
    return ByteBuffer.wrap(raw).asReadOnlyBuffer();
  }

  // ---- manifests ----

  private static String manifestKey(String encapsulation, String id) {
    return CHECKPOINTS + encapsulation + "/" + id;
  }

  /**
   * Committed checkpoints of an encapsulation, oldest first. One that cannot be read (damaged, sealed under
   * another key) is left out and reported in the log: it must not stop the group's captures and listings.
   */
  List<Manifest> manifests(String encapsulation) throws IOException {
    List<Manifest> out = new ArrayList<>();
    LencapException unreadable = null;
    for (BlobInfo info : backend.list(CHECKPOINTS + encapsulation + "/")) {
      try {
        readManifest(info.key()).ifPresent(out::add);
      } catch (LencapException e) {
        log.warn("leaving out {}: {}", info.key(), e.getMessage());
        unreadable = e;
      }
    }
    if (out.isEmpty() && unreadable != null) {
      throw unreadable; // none readable: most likely the wrong key, which must not look like an empty store
    }
    out.sort(Comparator.comparing(Manifest::id));
    return out;
  }

  /**
   * Every committed checkpoint of every encapsulation, for a collection: throws when one cannot be read,
   * since the chunks it names are unknown and must not be collected.
   */
  List<Manifest> allManifests() throws IOException {
    List<Manifest> out = new ArrayList<>();
    for (BlobInfo info : backend.list(CHECKPOINTS)) {
      readManifest(info.key()).ifPresent(out::add);
    }
    return out;
  }

  Manifest manifest(String encapsulation, String id) throws IOException {
    String key = manifestKey(encapsulation, id);
    if (!backend.exists(key)) { // another process may have deleted it since it was cached
      manifestCache.invalidate(key);
    }
    return readManifest(key).orElseThrow(() -> new NotFoundException(
        "no checkpoint '" + id + "' of encapsulation '" + encapsulation + "' in " + describe()));
  }

  private Optional<Manifest> readManifest(String key) throws IOException {
    Manifest cached = manifestCache.getIfPresent(key);
    if (cached != null) {
      return Optional.of(cached);
    }
    Optional<byte[]> bytes = backend.get(key);
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    Manifest m;
    try {
      m = Json.read(open(key, bytes.get()), Manifest.class);
      if (m == null) {
        throw new IOException("it holds JSON null");
      }
    } catch (IOException | RuntimeException e) { // a parser's message alone does not say which object it was
      if (e instanceof LencapException l) {
        throw l;
      }
      throw new LencapException("store " + describe() + ", checkpoint " + key + " is not a readable manifest: "
          + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
    }
    ManifestLimits.check(key, m);
    manifestCache.put(key, m);
    return Optional.of(m);
  }

  /** A manifest's or journal record's JSON; unreadable ones (wrong key, damage) fail naming the object. */
  private byte[] open(String key, byte[] stored) {
    try {
      return codec.decode(key, stored);
    } catch (ChunkCodec.UnreadableException e) {
      throw new LencapException("store " + describe() + ", object " + key + ": " + e.getMessage());
    }
  }

  /**
   * The collection generation now; a capture notes it when it starts. What this process knew of chunks
   * from an older generation is forgotten: a collection may have taken them.
   */
  String generation() throws IOException {
    String now = backend.get(GENERATION).map(b -> new String(b, StandardCharsets.UTF_8)).orElse("");
    if (!now.equals(knownGeneration)) {
      known.clear();
      knownGeneration = now;
    }
    return now;
  }

  /** Every chunk a manifest names, with its raw length. */
  static Map<String, Integer> chunksOf(Manifest manifest) {
    Map<String, Integer> out = new java.util.HashMap<>();
    manifest.members().forEach(m -> m.entries().forEach(e -> e.chunks().forEach(c -> out.put(c.id(), c.length()))));
    return out;
  }

  /**
   * Makes the checkpoint visible, atomically, once everything it names is durable. The caller has named
   * the manifest's chunks in its journal record. Waits (at most {@code wait}) until no collection is live;
   * if one ran since the capture started, first checks that every chunk is still there.
   */
  void commit(Manifest manifest, String generationAtStart, Duration wait) throws IOException {
    backend.flush();
    awaitNoCollection(manifest, wait);
    if (!generation().equals(generationAtStart)) {
      Set<String> missing = unproven(chunksOf(manifest), false);
      if (!missing.isEmpty()) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "a concurrent collection removed chunk "
            + missing.iterator().next() + " that this capture uses (" + missing.size() + " in all); capture again",
            null);
      }
    }
    String key = manifestKey(manifest.encapsulation(), manifest.id());
    if (!backend.putIfAbsent(key, codec.encode(key, Json.write(manifest)))) {
      throw new IllegalStateException("checkpoint " + manifest.id() + " already exists");
    }
    backend.flush();
  }

  private void awaitNoCollection(Manifest manifest, Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    long pause = 10;
    while (!leases.liveOthers(Leases.COLLECT, "").isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "a collection of " + describe()
            + " did not end within " + wait + "; checkpoint " + manifest.id() + " not committed", null);
      }
      try {
        Thread.sleep(pause); // polling the storage: no notification crosses processes
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while waiting for a collection to end");
      }
      pause = Math.min(1000, pause * 2);
    }
  }

  /** Removes the manifest of a capture that was aborted while it committed, if it was written. */
  void withdraw(String encapsulation, String id) throws IOException {
    String key = manifestKey(encapsulation, id);
    backend.delete(key);
    manifestCache.invalidate(key);
    backend.flush();
  }

  void delete(String encapsulation, String id) throws IOException {
    String key = manifestKey(encapsulation, id);
    if (!backend.exists(key)) {
      throw new NotFoundException("no checkpoint '" + id + "' of encapsulation '" + encapsulation + "'");
    }
    Optional<JournalRecord> reader = pins(encapsulation).stream().filter(r -> r.checkpointId().equals(id)).findFirst();
    if (reader.isPresent()) {
      throw new LencapException("checkpoint " + id + " of " + encapsulation + " is being restored (operation "
          + reader.get().operationId() + "); delete it after the restore");
    }
    backend.delete(key);
    manifestCache.invalidate(key);
    backend.flush();
  }

  /** Deletes all but the newest {@code keep} checkpoints; returns how many it deleted. */
  int retain(String encapsulation, int keep) throws IOException {
    if (keep <= 0) {
      return 0;
    }
    List<Manifest> all = manifests(encapsulation);
    Set<String> pinned = new HashSet<>();
    pins(encapsulation).forEach(r -> pinned.add(r.checkpointId()));
    int excess = all.size() - keep;
    int deleted = 0;
    for (int i = 0; i < excess; i++) {
      if (pinned.contains(all.get(i).id())) {
        log.info("retention keeps {} of {}: a restore reads it", all.get(i).id(), encapsulation);
        continue;
      }
      delete(encapsulation, all.get(i).id());
      deleted++;
    }
    return deleted;
  }

  /** Restores in flight of the encapsulation (any record, authentic or not: pinning is the safe side). */
  private List<JournalRecord> pins(String encapsulation) throws IOException {
    return records(false).stream()
        .filter(r -> r.kind() == JournalRecord.Kind.RESTORE && r.encapsulation().equals(encapsulation)).toList();
  }

  // ---- collection ----

  /**
   * Mark and sweep: deletes chunks that no committed manifest and no journal record names, sparing those
   * written since the oldest operation in flight started (by the storage's clock). Only one collection
   * runs at a time on a store (a lease); when another is live this one does nothing. Returns the number
   * of chunks deleted.
   */
  int collect() throws IOException {
    synchronized (collectLock) {
      Leases.Lease lease;
      try {
        lease = leases.acquire(Leases.COLLECT, UUID.randomUUID().toString(), "collection");
      } catch (Leases.HeldException e) {
        log.debug("not collecting {}: {} is collecting", describe(), e.getMessage());
        return 0;
      }
      try (lease) {
        Instant started = leases.storageNow();
        newGeneration();
        try {
          return sweep(started, lease);
        } finally {
          newGeneration();
        }
      }
    }
  }

  private void newGeneration() throws IOException {
    backend.put(GENERATION, UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
  }

  private int sweep(Instant started, Leases.Lease lease) throws IOException {
    // The journal before the manifests: a capture that commits in between is then in one or the other.
    Instant cutoff = started;
    Set<String> live = new HashSet<>();
    for (JournalRecord r : records(false)) {
      live.addAll(r.chunks());
    }
    for (JournalRecord r : journal()) { // only authentic records hold fresh chunks back
      if (r.startedAt().isBefore(cutoff)) {
        cutoff = r.startedAt();
      }
    }
    cutoff = cutoff.minus(clockSkew);
    List<Manifest> manifests;
    try {
      manifests = allManifests();
    } catch (LencapException e) {
      log.warn("not collecting {}: {} (the chunks it names are unknown; fix or delete it)", describe(),
          e.getMessage());
      return 0;
    }
    for (Manifest m : manifests) {
      m.members().forEach(member -> member.entries().forEach(e -> e.chunks().forEach(c -> live.add(c.id()))));
    }
    int deleted = 0;
    for (BlobInfo info : backend.list(CHUNKS)) {
      String id = info.key().substring(info.key().lastIndexOf('/') + 1);
      if (!live.contains(id) && info.lastModified().isBefore(cutoff)) {
        if (!lease.fresh()) {
          log.warn("collection of {} stopped: its lease could not be renewed in time", describe());
          break;
        }
        known.remove(id);
        backend.delete(info.key());
        deleted++;
      }
    }
    if (deleted > 0) {
      log.debug("collected {} unreferenced chunks from {}", deleted, describe());
    }
    return deleted;
  }

  // ---- verification ----

  VerifyReport verify(String encapsulation) throws IOException {
    List<Manifest> manifests = manifests(encapsulation);
    Map<String, String> firstUse = new LinkedHashMap<>(); // chunk -> "checkpoint\0member"
    Map<String, ChunkRef> refs = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        for (StoredEntry e : member.entries()) {
          for (ChunkRef c : e.chunks()) {
            firstUse.putIfAbsent(c.id(), m.id() + "\0" + member.id());
            refs.putIfAbsent(c.id(), c);
          }
        }
      }
    }
    Set<String> bad = new HashSet<>();
    List<VerifyReport.Problem> problems = new ArrayList<>();
    for (ChunkRef ref : refs.values()) {
      String[] use = firstUse.get(ref.id()).split("\0", 2);
      try {
        readChunk(ref, use[0], use[1]);
      } catch (CorruptCheckpointException e) {
        bad.add(ref.id());
        problems.add(new VerifyReport.Problem(use[0], use[1], ref.id(), e.getMessage()));
      }
    }
    // Name every other checkpoint and member that uses a bad chunk too.
    for (Manifest m : manifests) {
      for (Manifest.Member member : m.members()) {
        member.entries().stream().flatMap(e -> e.chunks().stream()).map(ChunkRef::id).filter(bad::contains)
            .distinct().filter(id -> !firstUse.get(id).equals(m.id() + "\0" + member.id()))
            .forEach(id -> problems.add(new VerifyReport.Problem(m.id(), member.id(), id, "uses a bad chunk")));
      }
    }
    return new VerifyReport(manifests.stream().map(Manifest::id).toList(), refs.size(), problems);
  }

  // ---- intent journal ----

  @Override
  public void record(JournalRecord r) throws IOException {
    String key = JOURNAL + r.operationId();
    backend.put(key, codec.encode(key, seal.seal(key, Json.write(r))));
    backend.flush();
  }

  @Override
  public void forget(String operationId) throws IOException {
    backend.delete(JOURNAL + operationId);
  }

  /** Authentic journal records: the only ones anything acts on. Others are reported and ignored. */
  List<JournalRecord> journal() throws IOException {
    return records(true);
  }

  private List<JournalRecord> records(boolean authenticOnly) throws IOException {
    List<JournalRecord> out = new ArrayList<>();
    for (BlobInfo info : backend.list(JOURNAL)) {
      Optional<byte[]> bytes = backend.get(info.key());
      if (bytes.isEmpty()) {
        continue;
      }
      try {
        byte[] sealed = codec.decode(info.key(), bytes.get());
        Optional<byte[]> authentic = seal.open(info.key(), sealed);
        if (authentic.isPresent()) {
          out.add(Json.read(authentic.get(), JournalRecord.class));
        } else if (authenticOnly) {
          log.warn("ignoring journal record {}: not authentic (planted, altered, or written under another"
              + " record.key)", info.key());
        } else {
          out.add(Json.read(RecordSeal.unchecked(sealed), JournalRecord.class));
        }
      } catch (IOException | ChunkCodec.UnreadableException | RuntimeException e) {
        if (authenticOnly) {
          log.warn("ignoring unreadable journal record {}: {}", info.key(), e.toString());
        }
      }
    }
    return out;
  }

  static UnavailableException unavailable(String what, IOException e) {
    return new UnavailableException(what + ": " + e.getMessage(), e);
  }

  @Override
  public void close() throws Exception {
    backend.close();
  }
}
