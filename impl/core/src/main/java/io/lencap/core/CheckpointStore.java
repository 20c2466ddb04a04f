package io.lencap.core;

import io.lencap.api.CaptureAbortedException;
import io.lencap.api.Durability;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.LencapException;
import io.lencap.api.NotFoundException;
import io.lencap.api.Phase;
import io.lencap.api.UnavailableException;
import io.lencap.api.VerifyReport;
import io.lencap.api.spi.Names;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ObjectLock;
import io.lencap.spi.StoredEntry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The content-addressed checkpoint store over a {@link BlobBackend}. Layout:
 * <pre>
 *   chunks/ab/abcd...      a chunk, named by the SHA-256 of its raw bytes (format byte + payload)
 *   checkpoints/NAME/ID    a committed manifest; its presence is the commit
 *   protected/NAME/ID      present while the checkpoint is protected from retention and delete
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
 * <p>The chunks are a {@link ChunkStore}, collected by a {@link ChunkCollection}; this class holds the
 * manifests, the commit, retention and the journal.
 */
final class CheckpointStore implements AutoCloseable, Journal {
  private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);
  static final String CHECKPOINTS = "checkpoints/";
  static final String JOURNAL = "journal/";
  static final String PROTECTED = "protected/";
  /** The manifest cache's bound, in entries and chunk references. */
  static final int MANIFEST_CACHE_REFERENCES = 1_000_000;

  private final BlobBackend backend;
  private final ChunkCodec codec;
  private final RecordSeal seal;
  private final Leases leases;
  private final ChunkStore chunks;
  private final ChunkCollection collection;
  /**
   * Manifests are immutable once committed; a deleted one is not served. The cache is bounded by the entries and
   * chunk references it holds ({@value #MANIFEST_CACHE_REFERENCES}), not by manifests: the reference group's (a tree
   * of 20,000 files, a LUN, two VMs) weighs about 45,000, a single small VM's a few dozen.
   */
  private final com.google.common.cache.Cache<String, Manifest> manifestCache =
      com.google.common.cache.CacheBuilder.newBuilder().maximumWeight(MANIFEST_CACHE_REFERENCES)
          .<String, Manifest>weigher((key, m) -> weight(m)).build();

  /**
   * @param clockSkew how far apart the clocks of the storage's own servers may be (S3 gateways, HDFS
   *     NameNode failover): widens the window of fresh chunks a collection spares
   */
  CheckpointStore(BlobBackend backend, ChunkCodec codec, RecordSeal seal, Leases leases, Duration clockSkew) {
    this.backend = backend;
    this.codec = codec;
    this.seal = seal;
    this.leases = leases;
    this.chunks = new ChunkStore(backend, codec);
    this.collection = new ChunkCollection(this, backend, chunks, leases, clockSkew);
  }

  /**
   * What a store's retention must keep whatever its rules say: checkpoint ids with why. A tiered engine sets
   * one on each tier ({@link Replication}); a store alone has none.
   */
  interface RetentionHold {
    Map<String, String> held(String encapsulation, List<String> ids) throws IOException;

    /** Called by retention just before it deletes a checkpoint it does not keep (a tier marks it pruned). */
    default void releasing(String encapsulation, String id) throws IOException {}
  }

  private volatile RetentionHold hold = (encapsulation, ids) -> Map.of();
  private volatile Durability committed = Durability.SINGLE_STORE;

  /** Makes retention keep what {@code hold} names; once, when a tiered engine opens. */
  void hold(RetentionHold hold) {
    this.hold = hold;
  }

  /** The checkpoints retention must keep now, with why. */
  Map<String, String> held(String encapsulation, List<String> ids) throws IOException {
    return hold.held(encapsulation, ids);
  }

  /** Says that retention is about to delete checkpoint {@code id}, to the hold ({@link RetentionHold#releasing}). */
  void releasing(String encapsulation, String id) throws IOException {
    hold.releasing(encapsulation, id);
  }

  /** Makes the checkpoints this store commits say {@code durability} (LOCAL on a tiered engine's local tier). */
  void committedAs(Durability durability) {
    this.committed = durability;
  }

  Durability committedAs() {
    return committed;
  }

  BlobBackend backend() {
    return backend;
  }

  ChunkStore chunks() {
    return chunks;
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

  // ---- manifests ----

  /** The key of a checkpoint's manifest; ids come from callers and targets, so neither part may be a path. */
  static String manifestKey(String encapsulation, String id) {
    return CHECKPOINTS + safe("encapsulation", encapsulation) + "/" + safe("checkpointId", id);
  }

  private static String safe(String field, String value) {
    if (!Names.valid(value)) {
      throw new InvalidSpecException(field, "'" + value + "' must be " + Names.RULE);
    }
    return value;
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

  /** Names of the encapsulations with at least one committed checkpoint, sorted. */
  List<String> encapsulations() throws IOException {
    Set<String> names = new java.util.TreeSet<>();
    for (BlobInfo info : backend.list(CHECKPOINTS)) {
      String rest = info.key().substring(CHECKPOINTS.length());
      int slash = rest.indexOf('/');
      if (slash > 0) {
        names.add(rest.substring(0, slash));
      }
    }
    return List.copyOf(names);
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

  /** A manifest's weight in the cache: its entries, chunk references and packed chunks. */
  static int weight(Manifest m) {
    long refs = 1;
    for (Manifest.Member member : m.members()) {
      for (StoredEntry e : member.entries()) {
        refs += 1 + e.chunks().size();
      }
      for (List<Manifest.Packed> in : member.packs().values()) {
        refs += in.size();
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, refs);
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
    if (m.format() > Manifest.NEWEST) { // restore, sync and collection (which then stops) all read here
      throw new LencapException("store " + describe() + ", checkpoint " + m.id() + " of " + m.encapsulation()
          + " is in manifest format " + m.format() + ", newer than this version reads (up to "
          + Manifest.NEWEST + "): restore, sync or collect it with a newer Lencap");
    }
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
    return collection.generation();
  }

  /** Every chunk a manifest names, with its raw length, and the full chunks its deltas apply to. */
  static Map<String, Integer> chunksOf(Manifest manifest) {
    Map<String, Integer> out = new HashMap<>();
    manifest.members().forEach(m -> m.entries().forEach(e -> e.chunks().forEach(c -> out.put(c.id(), c.length()))));
    manifest.members().forEach(m -> m.deltas().forEach((id, base) -> {
      Integer length = out.get(id);
      if (length != null) {
        out.putIfAbsent(base, length);
      }
    }));
    return out;
  }

  /** The chunks a manifest names that are stored as deltas: id to the id of their base. */
  static Map<String, String> deltasOf(Manifest manifest) {
    Map<String, String> out = new HashMap<>();
    manifest.members().forEach(m -> out.putAll(m.deltas()));
    return out;
  }

  /**
   * The chunks a manifest's members read whole or as deltas, not from a pack, with their raw lengths and the full
   * chunks their deltas apply to. (A chunk one member has in a pack may be named whole by another.)
   */
  static Map<String, Integer> unpackedChunksOf(Manifest manifest) {
    Map<String, Integer> out = new HashMap<>();
    for (Manifest.Member m : manifest.members()) {
      Map<String, ChunkPacks.Slot> slots = m.packs().isEmpty() ? Map.of() : m.slots();
      m.entries().forEach(e -> e.chunks().stream().filter(c -> !slots.containsKey(c.id()))
          .forEach(c -> out.put(c.id(), c.length())));
    }
    manifest.members().forEach(m -> {
      Map<String, ChunkPacks.Slot> slots = m.packs().isEmpty() ? Map.of() : m.slots();
      m.deltas().forEach((id, base) -> {
        Integer length = out.get(id);
        if (length != null && !slots.containsKey(base)) { // a base in a pack is read there
          out.putIfAbsent(base, length);
        }
      });
    });
    return out;
  }

  /** Of a manifest's chunks, those missing or damaged in the store, each looked up where its members read it. */
  Set<String> unproven(Manifest manifest) throws IOException {
    Map<String, Integer> all = chunksOf(manifest);
    Set<String> out = new HashSet<>(chunks.unproven(unpackedChunksOf(manifest), deltasOf(manifest), false));
    for (Manifest.Member m : manifest.members()) { // each where that member reads it (see CaptureCommit)
      Map<String, ChunkPacks.Slot> slots = m.slots();
      Map<String, Integer> packed = new HashMap<>();
      all.forEach((id, length) -> {
        if (slots.containsKey(id)) {
          packed.put(id, length);
        }
      });
      out.addAll(chunks.unproven(packed, Map.of(), slots, false));
    }
    return out;
  }

  /** The ids of the packs a manifest's chunks are in. */
  static Set<String> packsOf(Manifest manifest) {
    Set<String> out = new HashSet<>();
    manifest.members().forEach(m -> out.addAll(m.packs().keySet()));
    return out;
  }

  /** What a journal record names so that a collection spares a manifest's objects: its chunks and its packs. */
  static Set<String> namedObjects(Manifest manifest) {
    Set<String> out = new HashSet<>(chunksOf(manifest).keySet());
    out.addAll(packsOf(manifest));
    return out;
  }

  /** The keys of the objects a manifest's chunks are stored in: deltas, whole chunks and packs. */
  static List<String> objectKeys(Manifest manifest) {
    Map<String, String> deltas = deltasOf(manifest);
    List<String> keys = new ArrayList<>();
    unpackedChunksOf(manifest).keySet().stream()
        .map(id -> deltas.containsKey(id) ? ChunkStore.deltaKey(id) : ChunkStore.key(id)).forEach(keys::add);
    packsOf(manifest).stream().map(ChunkPacks::key).forEach(keys::add);
    return keys;
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
      Set<String> missing = unproven(manifest);
      if (!missing.isEmpty()) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "a concurrent collection removed chunk "
            + missing.iterator().next() + " that this capture uses (" + missing.size() + " in all); capture again",
            null);
      }
    }
    String key = manifestKey(manifest.encapsulation(), manifest.id());
    Optional<ObjectLock> lock = backend.objectLock();
    if (lock.isPresent()) { // every chunk first: a committed checkpoint is never locked without its chunks
      lock.get().retain(objectKeys(manifest));
    }
    if (!backend.putIfAbsent(key, codec.encode(key, Json.write(manifest)))) {
      throw new IllegalStateException("checkpoint " + manifest.id() + " already exists");
    }
    if (lock.isPresent()) {
      lock.get().retain(List.of(key));
    }
    backend.flush();
    // The next capture's parent, most often: read back, a manifest of 20,000 entries cost it 60-130 ms to parse.
    manifestCache.put(key, manifest);
  }

  private void awaitNoCollection(Manifest manifest, Duration wait) throws IOException {
    awaitNoCollection("checkpoint " + manifest.id(), wait);
  }

  /** Waits (at most {@code wait}) until no collection of this store is live. */
  void awaitNoCollection(String what, Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    long pause = 10;
    while (!leases.liveOthers(Leases.COLLECT, "").isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new CaptureAbortedException(null, Phase.COMMIT, "a collection of " + describe()
            + " did not end within " + wait + "; " + what + " not committed", null);
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
      throw new LencapException("checkpoint " + id + " of " + encapsulation + " is being read by a "
          + reader.get().kind().name().toLowerCase(java.util.Locale.ROOT) + " (operation "
          + reader.get().operationId() + "); delete it after that");
    }
    if (backend.exists(protectedKey(encapsulation, id))) {
      throw new LencapException("checkpoint " + id + " of " + encapsulation + " is protected; lift its protection"
          + " (setProtected false) to delete it");
    }
    backend.delete(key);
    manifestCache.invalidate(key);
    backend.flush();
  }

  static String protectedKey(String encapsulation, String id) {
    return PROTECTED + encapsulation + "/" + id;
  }

  /** Applies the retention rules after a commit; returns how many checkpoints it deleted. */
  int retain(String encapsulation, io.lencap.api.Retention retention) throws IOException {
    if (retention.keepsAll()) {
      return 0;
    }
    return new CheckpointRetention(this).prune(encapsulation, retention, false).removed().size();
  }

  /**
   * Deletes chunks that no committed manifest and no journal record names ({@link ChunkCollection}); does
   * nothing while another collection is live. Says what it deleted and what the storage's locks kept.
   */
  io.lencap.api.CollectReport collect() throws IOException {
    return collection.run();
  }

  /** Reads and verifies every chunk of the encapsulation's checkpoints. */
  VerifyReport verify(String encapsulation) throws IOException {
    return StoreVerification.verify(manifests(encapsulation), chunks);
  }

  /**
   * Restores and syncs in flight of the encapsulation: they pin the checkpoint they read (any record, authentic
   * or not: pinning is the safe side).
   */
  List<JournalRecord> pins(String encapsulation) throws IOException {
    return records(false).stream()
        .filter(r -> r.kind() != JournalRecord.Kind.CAPTURE && r.encapsulation().equals(encapsulation)).toList();
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

  /** Journal records; with {@code authenticOnly} false, also those that fail authentication (to spare chunks). */
  List<JournalRecord> records(boolean authenticOnly) throws IOException {
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
