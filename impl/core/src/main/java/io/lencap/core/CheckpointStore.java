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
 *   journal/CAPTURE        intent record of a capture in flight (for crash repair)
 *   gc/generation          changed when a collection starts and when it ends; gc/running while it runs
 * </pre>
 * Collection never deletes a chunk named by a committed manifest, nor one written after the oldest
 * capture in flight started, nor one a capture in flight reuses (its journal record lists them before it
 * commits). A capture that overlapped a collection re-checks its reused chunks before committing: the
 * chunk it deduplicated against may have been garbage that the collection took.
 */
final class CheckpointStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);
  static final String CHUNKS = "chunks/";
  static final String CHECKPOINTS = "checkpoints/";
  static final String JOURNAL = "journal/";
  static final String PROTECTIONS = "protections/";
  private static final String GENERATION = "gc/generation";
  private static final String COLLECTING = "gc/running";

  private final BlobBackend backend;
  private final ChunkCodec codec;
  private final Clock clock;
  private final Duration clockSkew;
  /** Chunks known to exist: skips the backend round trip when a chunk repeats. */
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private final Map<String, Manifest> manifestCache = new ConcurrentHashMap<>();
  private final Object collectLock = new Object();

  CheckpointStore(BlobBackend backend, ChunkCodec codec, Clock clock, Duration clockSkew) {
    this.backend = backend;
    this.codec = codec;
    this.clock = clock;
    this.clockSkew = clockSkew;
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

  /** Writes an encoded chunk unless present (the I/O half); returns the bytes added, 0 when deduplicated. */
  long storeChunk(EncodedChunk chunk) throws IOException {
    if (chunk.bytes() == null || known.contains(chunk.id())) {
      return 0;
    }
    boolean created = backend.putIfAbsent(chunk.key(), chunk.bytes());
    known.add(chunk.id());
    return created ? chunk.bytes().length : 0;
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
      raw = codec.decode(chunkKey(ref.id()), stored.get());
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

  /** Committed checkpoints of an encapsulation, oldest first. */
  List<Manifest> manifests(String encapsulation) throws IOException {
    List<Manifest> out = new ArrayList<>();
    for (BlobInfo info : backend.list(CHECKPOINTS + encapsulation + "/")) {
      readManifest(info.key()).ifPresent(out::add);
    }
    out.sort(Comparator.comparing(Manifest::id));
    return out;
  }

  /** Every committed checkpoint of every encapsulation. */
  List<Manifest> allManifests() throws IOException {
    List<Manifest> out = new ArrayList<>();
    for (BlobInfo info : backend.list(CHECKPOINTS)) {
      readManifest(info.key()).ifPresent(out::add);
    }
    return out;
  }

  Manifest manifest(String encapsulation, String id) throws IOException {
    return readManifest(manifestKey(encapsulation, id)).orElseThrow(() -> new NotFoundException(
        "no checkpoint '" + id + "' of encapsulation '" + encapsulation + "' in " + describe()));
  }

  private Optional<Manifest> readManifest(String key) throws IOException {
    Manifest cached = manifestCache.get(key);
    if (cached != null) {
      return Optional.of(cached);
    }
    Optional<byte[]> bytes = backend.get(key);
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    Manifest m = Json.read(open(key, bytes.get()), Manifest.class);
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

  /** The collection generation now; a capture notes it when it starts. */
  String generation() throws IOException {
    return backend.get(GENERATION).map(b -> new String(b, StandardCharsets.UTF_8)).orElse("");
  }

  /**
   * Makes the checkpoint visible, atomically, once everything it names is durable. If a collection ran
   * since the capture started, first checks that the chunks it reused still exist.
   */
  void commit(Manifest manifest, String generationAtStart, Set<String> reusedChunks) throws IOException {
    backend.flush();
    if (!generation().equals(generationAtStart) || backend.exists(COLLECTING)) {
      for (String id : reusedChunks) {
        if (!backend.exists(chunkKey(id))) {
          known.remove(id);
          throw new CaptureAbortedException(null, Phase.COMMIT, "a concurrent collection removed chunk " + id
              + " that this capture reused; capture again", null);
        }
      }
    }
    String key = manifestKey(manifest.encapsulation(), manifest.id());
    if (!backend.putIfAbsent(key, codec.encode(key, Json.write(manifest)))) {
      throw new IllegalStateException("checkpoint " + manifest.id() + " already exists");
    }
    backend.flush();
  }

  void delete(String encapsulation, String id) throws IOException {
    String key = manifestKey(encapsulation, id);
    if (!backend.exists(key)) {
      throw new NotFoundException("no checkpoint '" + id + "' of encapsulation '" + encapsulation + "'");
    }
    backend.delete(key);
    manifestCache.remove(key);
    backend.flush();
  }

  /** Deletes all but the newest {@code keep} checkpoints; returns how many it deleted. */
  int retain(String encapsulation, int keep) throws IOException {
    if (keep <= 0) {
      return 0;
    }
    List<Manifest> all = manifests(encapsulation);
    int excess = all.size() - keep;
    for (int i = 0; i < excess; i++) {
      delete(encapsulation, all.get(i).id());
    }
    return Math.max(0, excess);
  }

  // ---- collection ----

  /**
   * Mark and sweep: deletes chunks no committed manifest names, sparing those written after the oldest
   * capture in flight (any process) started. Returns the number of chunks deleted.
   */
  int collect() throws IOException {
    synchronized (collectLock) {
      Instant started = clock.instant();
      backend.put(COLLECTING, started.toString().getBytes(StandardCharsets.UTF_8));
      newGeneration();
      try {
        return sweep(started);
      } finally {
        newGeneration();
        backend.delete(COLLECTING);
      }
    }
  }

  private void newGeneration() throws IOException {
    backend.put(GENERATION, (clock.instant() + " " + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8));
  }

  private int sweep(Instant started) throws IOException {
    {
      // The journal before the manifests: a capture that commits in between is then in one or the other
      // (its new chunks spared by the cutoff, its reused ones by its record or by its own re-check).
      Instant cutoff = started;
      Set<String> live = new HashSet<>();
      for (JournalRecord r : journal()) {
        if (r.startedAt().isBefore(cutoff)) {
          cutoff = r.startedAt();
        }
        live.addAll(r.reused());
      }
      cutoff = cutoff.minus(clockSkew);
      for (Manifest m : allManifests()) {
        m.members().forEach(member -> member.entries().forEach(e -> e.chunks().forEach(c -> live.add(c.id()))));
      }
      int deleted = 0;
      for (BlobInfo info : backend.list(CHUNKS)) {
        String id = info.key().substring(info.key().lastIndexOf('/') + 1);
        if (!live.contains(id) && info.lastModified().isBefore(cutoff)) {
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

  void record(JournalRecord r) throws IOException {
    backend.put(JOURNAL + r.captureId(), codec.encode(JOURNAL + r.captureId(), Json.write(r)));
    backend.flush();
  }

  void forget(String captureId) throws IOException {
    backend.delete(JOURNAL + captureId);
  }

  List<JournalRecord> journal() throws IOException {
    List<JournalRecord> out = new ArrayList<>();
    for (BlobInfo info : backend.list(JOURNAL)) {
      Optional<byte[]> bytes = backend.get(info.key());
      if (bytes.isPresent()) {
        try {
          out.add(Json.read(open(info.key(), bytes.get()), JournalRecord.class));
        } catch (IOException | LencapException e) {
          log.warn("ignoring unreadable journal record {}: {}", info.key(), e.toString());
        }
      }
    }
    return out;
  }

  // ---- protections ----

  void protect(ProtectionRecord r) throws IOException {
    backend.put(PROTECTIONS + r.name(), codec.encode(PROTECTIONS + r.name(), Json.write(r)));
    backend.flush();
  }

  void unprotect(String name) throws IOException {
    backend.delete(PROTECTIONS + name);
  }

  List<ProtectionRecord> protections() throws IOException {
    List<ProtectionRecord> out = new ArrayList<>();
    for (BlobInfo info : backend.list(PROTECTIONS)) {
      Optional<byte[]> bytes = backend.get(info.key());
      if (bytes.isPresent()) {
        out.add(Json.read(open(info.key(), bytes.get()), ProtectionRecord.class));
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
