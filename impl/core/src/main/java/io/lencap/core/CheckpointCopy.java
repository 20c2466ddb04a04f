package io.lencap.core;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.api.LencapException;
import io.lencap.api.SyncReport;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.ObjectLock;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies an encapsulation's committed checkpoints from one store to another as stored bytes (a sync). Per
 * checkpoint, the same order as a capture's commit:
 * <ol>
 *   <li>on the source, a journal record of kind COPY pins the checkpoint (retention keeps it) and names
 *       its chunks (a collection spares them); the manifest is then looked up again, since retention may
 *       have deleted it just before;
 *   <li>on the target, a COPY record names the chunks before any is written, so that a collection there
 *       spares them;
 *   <li>each chunk the target lacks (one listing; present means present with a size its length allows) is
 *       read from the source, verified against its hash, written, and read back; a pack likewise, whole, with
 *       each of the checkpoint's chunks in it verified;
 *   <li>the manifest last, once no collection is live on the target, after checking again that every chunk
 *       is there if a collection ran since the sync started (as {@link CheckpointStore#commit} does);
 *   <li>both records forgotten.
 * </ol>
 * Operation ids are fixed per checkpoint ({@code copy-NAME-ID}), so a sync run again after a crash replaces
 * and then forgets the records the dead one left, and sends only what is missing. Each store holds a lease
 * {@code _copy.NAME} meanwhile: one sync of a group per store at a time.
 */
final class CheckpointCopy {
  private static final Logger log = LoggerFactory.getLogger(CheckpointCopy.class);
  private static final int COMMIT_ATTEMPTS = 3;
  /** Marks a delta's id in {@link #targetChunks}. */
  private static final String DELTA = "delta:";
  /** Marks a pack's id in {@link #targetChunks}. */
  private static final String PACK = "pack:";

  private final CheckpointStore source;
  private final CheckpointStore target;
  private final JournalRecord.Owner owner;
  private final Clock clock;
  private final Executor io;
  private final Duration wait;
  private final AtomicLong chunksSent = new AtomicLong();
  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicLong chunksPresent = new AtomicLong();
  /** The target's chunks and their stored sizes, from one listing, updated as chunks are sent. */
  private final Map<String, Long> targetChunks = new ConcurrentHashMap<>();

  CheckpointCopy(CheckpointStore source, CheckpointStore target, JournalRecord.Owner owner, Clock clock,
      Executor io, Duration wait) {
    this.source = source;
    this.target = target;
    this.owner = owner;
    this.clock = clock;
    this.io = io;
    this.wait = wait;
  }

  /** The lease scope of the syncs of a group on either store. */
  static String scope(String encapsulation) {
    return "_copy." + encapsulation;
  }

  /** Whether the operation that wrote a journal record still runs (a sync's record: whether a sync of its group does). */
  static boolean running(Leases leases, JournalRecord r) throws IOException {
    return switch (r.kind()) {
      case COPY -> leases.isLive(scope(r.encapsulation()), "copy-" + r.encapsulation());
      case DRILL -> leases.isLive(DrillRun.scope(r.encapsulation()), r.operationId());
      case CAPTURE, RESTORE -> leases.isLive(r.encapsulation(), r.operationId());
    };
  }

  /** Removes the lease of a record's operation, which has ended. */
  static void forgetLease(Leases leases, JournalRecord r) throws IOException {
    switch (r.kind()) {
      case COPY -> leases.forget(scope(r.encapsulation()), "copy-" + r.encapsulation());
      case DRILL -> leases.forget(DrillRun.scope(r.encapsulation()), r.operationId());
      case CAPTURE, RESTORE -> leases.forget(r.encapsulation(), r.operationId());
    }
  }

  SyncReport copy(String encapsulation) throws IOException {
    return copy(encapsulation, m -> true);
  }

  /** Copies the checkpoints that {@code wanted} accepts and the target lacks (a tier copies the newer ones). */
  SyncReport copy(String encapsulation, Predicate<Manifest> wanted) throws IOException {
    List<Manifest> all = source.manifests(encapsulation);
    Set<String> onTarget = new HashSet<>();
    for (BlobInfo info : target.backend().list(CheckpointStore.CHECKPOINTS + encapsulation + "/")) {
      onTarget.add(info.key().substring(info.key().lastIndexOf('/') + 1));
    }
    List<String> copied = new ArrayList<>();
    List<String> present = new ArrayList<>();
    Map<String, String> skipped = new LinkedHashMap<>();
    List<Manifest> todo = new ArrayList<>();
    for (Manifest m : all) {
      if (onTarget.contains(m.id())) {
        present.add(m.id());
      } else if (wanted.test(m)) {
        todo.add(m);
      }
    }
    if (!todo.isEmpty()) {
      String operation = "sync of " + encapsulation;
      try (Leases.Lease s = lease(source, encapsulation, operation);
          Leases.Lease t = lease(target, encapsulation, operation)) {
        String generation = target.generation();
        for (BlobInfo info : target.backend().list(ChunkStore.PREFIX)) {
          targetChunks.put(ChunkStore.idOf(info.key()), info.size());
        }
        for (BlobInfo info : target.backend().list(ChunkStore.DELTAS)) {
          targetChunks.put(DELTA + ChunkStore.idOf(info.key()), info.size());
        }
        for (BlobInfo info : target.backend().list(ChunkPacks.PREFIX)) {
          targetChunks.put(PACK + ChunkStore.idOf(info.key()), info.size());
        }
        for (Manifest m : todo) {
          if (copyOne(m, generation)) {
            copied.add(m.id());
          } else {
            skipped.put(m.id(), "deleted from the source while the sync ran");
          }
        }
      }
    }
    log.info("sync of {} from {} to {}: {} copied, {} present, {} chunks ({} bytes) sent, {} chunks present",
        encapsulation, source.describe(), target.describe(), copied.size(), present.size(), chunksSent.get(),
        bytesSent.get(), chunksPresent.get());
    return new SyncReport(encapsulation, copied, present, skipped, chunksSent.get(), bytesSent.get(),
        chunksPresent.get());
  }

  /**
   * The group's sync lease on a store. Its id is fixed, so a dead sync's lease (expired, or of a process
   * gone from this host) is removed first; one that is live means another sync runs.
   */
  private static Leases.Lease lease(CheckpointStore store, String encapsulation, String what) throws IOException {
    String scope = scope(encapsulation);
    String id = "copy-" + encapsulation;
    if (!store.leases().isLive(scope, id)) {
      store.leases().forget(scope, id);
    }
    try {
      return store.leases().acquire(scope, id, what);
    } catch (Leases.HeldException | IllegalStateException e) {
      throw new LencapException("another sync of " + encapsulation + " is running on " + store.describe() + " ("
          + e.getMessage() + "); run this one when it has ended");
    }
  }

  /** Copies one checkpoint; false when the source no longer has it. */
  private boolean copyOne(Manifest m, String generationAtStart) throws IOException {
    String op = "copy-" + m.encapsulation() + "-" + m.id();
    Map<String, Integer> chunks = CheckpointStore.chunksOf(m);
    JournalRecord record = JournalRecord.copy(op, m.encapsulation(), m.id(), owner, clock.instant(),
        CheckpointStore.namedObjects(m));
    source.record(record);
    try {
      String key = CheckpointStore.CHECKPOINTS + m.encapsulation() + "/" + m.id();
      byte[] manifest = source.backend().get(key).orElse(null);
      if (manifest == null) {
        return false;
      }
      target.record(record);
      send(m, chunks, false);
      for (int attempt = 1; ; attempt++) {
        target.backend().flush();
        target.awaitNoCollection("the copy of checkpoint " + m.id(), wait);
        if (target.generation().equals(generationAtStart) || send(m, chunks, true) == 0) {
          break; // no collection ran, or one ran and took nothing this copy needs
        }
        if (attempt == COMMIT_ATTEMPTS) {
          throw new LencapException("collections on " + target.describe() + " kept removing chunks of checkpoint "
              + m.id() + " while it was copied; run the sync again");
        }
        generationAtStart = target.generation();
      }
      Optional<ObjectLock> lock = target.backend().objectLock();
      if (lock.isPresent()) { // an immutable target: the chunks first, as a capture's commit does
        lock.get().retain(CheckpointStore.objectKeys(m));
      }
      if (!target.backend().putIfAbsent(key, manifest)) {
        log.info("checkpoint {} of {} was copied to {} meanwhile", m.id(), m.encapsulation(), target.describe());
      }
      if (lock.isPresent()) {
        lock.get().retain(List.of(key));
      }
      target.backend().flush();
      if (!Arrays.equals(manifest, target.backend().get(key).orElse(null))) {
        throw new LencapException("the copy of checkpoint " + m.id() + " in " + target.describe()
            + " differs from the source's manifest; delete it there and sync again");
      }
      target.forget(op);
      return true;
    } finally {
      source.forget(op);
    }
  }

  /**
   * Sends the chunks the target lacks, the target's concurrency in flight; returns how many it sent. With
   * {@code look}, asks the target about each chunk again instead of trusting the listing (a collection ran).
   */
  private int send(Manifest m, Map<String, Integer> chunks, boolean look) throws IOException {
    List<IoTask> missing = new ArrayList<>();
    Map<String, String> deltas = CheckpointStore.deltasOf(m);
    // Every member's packed chunks by pack and offset (one content may be whole in one slot and a member's own delta
    // in another), and where the whole ones are: the bases of deltas.
    Map<String, ChunkPacks.Slot> slots = new HashMap<>();
    Map<String, Map<Long, InPack>> packs = new HashMap<>();
    for (Manifest.Member member : m.members()) {
      member.packs().forEach((pack, in) -> in.forEach(p -> {
        ChunkPacks.Slot slot = new ChunkPacks.Slot(pack, p.offset(), p.size(), p.base());
        packs.computeIfAbsent(pack, k -> new HashMap<>()).putIfAbsent(p.offset(), new InPack(p.id(), slot));
        if (p.base() == null) {
          slots.put(p.id(), slot);
        }
      }));
    }
    for (Map.Entry<String, Map<Long, InPack>> p : packs.entrySet()) {
      long end = p.getValue().values().stream().mapToLong(c -> c.slot().offset() + c.slot().size()).max().orElse(0);
      Long size = look ? target.backend().stat(ChunkPacks.key(p.getKey())).map(BlobInfo::size).orElse(null)
          : targetChunks.get(PACK + p.getKey());
      if (size != null && size >= end) {
        if (!look) {
          chunksPresent.addAndGet(p.getValue().size());
        }
      } else {
        missing.add(() -> sendPack(m, p.getKey(), p.getValue().values(), chunks, slots));
      }
    }
    for (Map.Entry<String, Integer> c : CheckpointStore.unpackedChunksOf(m).entrySet()) { // packed: sent above
      boolean delta = deltas.containsKey(c.getKey());
      Long size = look ? target.backend().stat(delta ? ChunkStore.deltaKey(c.getKey()) : ChunkStore.key(c.getKey()))
          .map(BlobInfo::size).orElse(null) : targetChunks.get(delta ? DELTA + c.getKey() : c.getKey());
      if (size != null && delta && size > 0
          && !target.chunks().deltaBase(c.getKey(), c.getValue()).equals(Optional.of(deltas.get(c.getKey())))) {
        // The target's delta names another base than this manifest records (another source wrote it, or it
        // is unreadable): a collection there would keep the recorded base and delete the real one. Send the
        // chunk whole instead: reads try the whole chunk first, and the recorded base is among the chunks sent.
        Chunk whole = new Chunk(c.getKey(), c.getValue(), false);
        missing.add(() -> sendOne(m, slots, whole));
      } else if (size != null && (delta ? size > 0 : source.codec().plausibleSize(c.getValue(), size))) {
        if (!look) {
          chunksPresent.incrementAndGet();
        }
      } else {
        Chunk chunk = new Chunk(c.getKey(), c.getValue(), delta);
        missing.add(() -> sendOne(m, slots, chunk));
      }
    }
    // A sliding window: a chunk starts as soon as one ends, never more than the target's concurrency in
    // flight. (Waiting for each batch to end idled the window on its slowest chunk: 0.38 of a raw put.)
    Semaphore window = new Semaphore(Math.max(1, target.chunks().concurrency()));
    AtomicReference<Throwable> failed = new AtomicReference<>();
    List<CompletableFuture<Void>> sent = new ArrayList<>(missing.size());
    try {
      for (IoTask task : missing) {
        window.acquire();
        if (failed.get() != null) {
          window.release();
          break; // the first failure ends the send; what is in flight finishes below
        }
        CompletableFuture<Void> one = CompletableFuture.runAsync(() -> {
          try {
            task.run();
          } catch (IOException e) {
            throw new CompletionException(e);
          }
        }, io);
        one.whenComplete((v, e) -> {
          if (e != null) {
            failed.compareAndSet(null, e);
          }
          window.release();
        });
        sent.add(one);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while sending the chunks of checkpoint " + m.id());
    }
    try {
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    return missing.size();
  }

  /** Reads a chunk's stored bytes from the source, verifies them, writes them to the target, reads them back. */
  private void sendOne(Manifest m, Map<String, ChunkPacks.Slot> slots, Chunk ref) throws IOException {
    String member = memberOf(m, ref.id());
    String key = ref.delta() ? ChunkStore.deltaKey(ref.id()) : ChunkStore.key(ref.id());
    byte[] stored = source.backend().get(key).orElse(null);
    if (stored == null && ref.delta()) { // a delta's chunk may be stored whole as well: send that one
      key = ChunkStore.key(ref.id());
      stored = source.backend().get(key).orElse(null);
    }
    if (stored == null && !ref.delta()) { // stored only as a delta in the source: send it whole, rebuilt
      stored = source.backend().get(ChunkStore.deltaKey(ref.id())).orElse(null);
      if (stored != null) {
        byte[] raw = source.chunks().fromStoredDelta(new ChunkRef(ref.id(), 0, ref.length()), stored, slots, m.id(),
            member);
        stored = source.codec().encode(key, raw);
      }
    }
    if (stored == null) {
      throw new CorruptCheckpointException(m.id(), member, ref.id(), "chunk missing from the source "
          + source.describe());
    }
    if (key.startsWith(ChunkStore.DELTAS)) { // the bytes sent, rebuilt on their base and hashed as a read does
      source.chunks().fromStoredDelta(new ChunkRef(ref.id(), 0, ref.length()), stored, slots, m.id(), member);
    } else {
      try {
        byte[] raw = source.codec().decode(key, stored, ref.length());
        if (raw.length != ref.length() || !source.codec().id(raw, 0, raw.length).equals(ref.id())) {
          throw new CorruptCheckpointException(m.id(), member, ref.id(), "content does not match its hash in "
              + source.describe());
        }
      } catch (ChunkCodec.UnreadableException e) {
        throw new CorruptCheckpointException(m.id(), member, ref.id(), e.getMessage());
      }
    }
    BlobBackend to = target.backend();
    if (!to.putIfAbsent(key, stored)) {
      // Written meanwhile (the same bytes: names are content hashes) or damaged (the listing's size was
      // implausible): writing it whole again is right in both cases.
      to.put(key, stored);
    }
    byte[] back = to.get(key).orElse(null);
    if (!Arrays.equals(stored, back)) {
      throw new LencapException("chunk " + ref.id() + " of checkpoint " + m.id() + " arrived damaged in "
          + target.describe() + " (" + (back == null ? "absent" : back.length + " bytes") + " where "
          + stored.length + " were sent); run the sync again");
    }
    targetChunks.put(key.startsWith(ChunkStore.DELTAS) ? DELTA + ref.id() : ref.id(), (long) stored.length);
    chunksSent.incrementAndGet();
    bytesSent.addAndGet(stored.length);
  }

  /**
   * Reads a pack from the source, verifies each of the checkpoint's chunks in it (by its hash, as a read does; a
   * delta rebuilt on its base, found in {@code slots} or alone), writes it to the target and reads it back.
   */
  private void sendPack(Manifest m, String pack, Collection<InPack> in, Map<String, Integer> lengths,
      Map<String, ChunkPacks.Slot> slots) throws IOException {
    String key = ChunkPacks.key(pack);
    Optional<byte[]> read = source.backend().get(key);
    if (read.isEmpty()) {
      String first = in.iterator().next().id();
      throw new CorruptCheckpointException(m.id(), memberOf(m, first), first, "its pack " + pack
          + " is missing from the source " + source.describe());
    }
    byte[] stored = read.get();
    for (InPack c : in) {
      ChunkPacks.Slot slot = c.slot();
      if (slot.offset() + slot.size() > stored.length) {
        throw new CorruptCheckpointException(m.id(), memberOf(m, c.id()), c.id(), "its pack " + pack + " is too short in"
            + " the source " + source.describe());
      }
      int length = lengths.get(c.id());
      byte[] bytes = Arrays.copyOfRange(stored, (int) slot.offset(), (int) slot.offset() + slot.size());
      if (slot.base() != null) {
        source.chunks().fromStoredDelta(new ChunkRef(c.id(), 0, length), bytes, slots, m.id(), memberOf(m, c.id()));
        continue;
      }
      try {
        byte[] raw = source.codec().decode(ChunkStore.key(c.id()), bytes, length);
        if (raw.length != length || !source.codec().id(raw, 0, raw.length).equals(c.id())) {
          throw new CorruptCheckpointException(m.id(), memberOf(m, c.id()), c.id(), "content in pack " + pack
              + " does not match its hash in " + source.describe());
        }
      } catch (ChunkCodec.UnreadableException e) {
        throw new CorruptCheckpointException(m.id(), memberOf(m, c.id()), c.id(), "in pack " + pack + ": " + e.getMessage());
      }
    }
    BlobBackend to = target.backend();
    if (!to.putIfAbsent(key, stored)) {
      to.put(key, stored); // written meanwhile (the same bytes: names are hashes) or too short in the listing
    }
    byte[] back = to.get(key).orElse(null);
    if (!Arrays.equals(stored, back)) {
      throw new LencapException("pack " + pack + " of checkpoint " + m.id() + " arrived damaged in "
          + target.describe() + " (" + (back == null ? "absent" : back.length + " bytes") + " where "
          + stored.length + " were sent); run the sync again");
    }
    targetChunks.put(PACK + pack, (long) stored.length);
    chunksSent.addAndGet(in.size());
    bytesSent.addAndGet(stored.length);
  }

  private interface IoTask {
    void run() throws IOException;
  }

  private record Chunk(String id, int length, boolean delta) {}

  /** A chunk in a pack: whole, or a member's delta of it ({@link ChunkPacks.Slot#base}). */
  private record InPack(String id, ChunkPacks.Slot slot) {}

  private static String memberOf(Manifest m, String chunk) {
    return m.members().stream().filter(x -> x.entries().stream().anyMatch(e -> e.chunks().stream()
        .anyMatch(c -> c.id().equals(chunk)))).map(Manifest.Member::id).findFirst().orElse("?");
  }
}
