package io.lencap.core;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.BlobBackend;
import io.lencap.spi.BlobInfo;
import io.lencap.spi.ChunkRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's chunks ({@code chunks/ab/abcd...}): content-addressed, encoded by {@link ChunkCodec}, written
 * once. It remembers which chunks this process wrote or proved in the current collection generation, so
 * that a capture need not look them up again, and which it found damaged, so that a capture reads their
 * content again instead of reusing it. A chunk that exists is not taken as intact: a write that finds one
 * of another size replaces it, and {@link #unproven} checks a reused chunk's size against its length.
 *
 * <p>A chunk may instead be stored as a {@link ChunkDelta} against a base chunk ({@code deltas/ab/abcd...}, format
 * 2): its id stays the hash of its full content, the manifests that name it record its base (so that a collection
 * keeps the base without reading the delta), and a base is always a full chunk, so a read costs two objects at
 * most. Reads try the full chunk first, then the delta, whatever the manifest says.
 *
 * <p>A small chunk may instead be stored in a {@link ChunkPacks pack} (format 3): a read is then a ranged read of
 * the pack at the slot its manifest gives, verified by the chunk's hash as any read is.
 */
final class ChunkStore {
  private static final Logger log = LoggerFactory.getLogger(ChunkStore.class);
  static final String PREFIX = "chunks/";
  /** Chunks stored as deltas against a full chunk. */
  static final String DELTAS = "deltas/";
  /** Above this many chunks to prove, one listing of all chunks is cheaper than a look-up each. */
  private static final int STAT_LIMIT = 2000;

  private final BlobBackend backend;
  private final ChunkCodec codec;
  /** Chunks this process wrote or proved since the collection generation {@link #generation}. */
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private volatile String generation = "";
  private volatile boolean packing = true;
  /** Chunks below this go into packs whatever the backend says: see {@link #packAs}. */
  private volatile int packFloor;
  /** When positive, the durable tier's pack size, which this local tier's packs take: see {@link #packAs}. */
  private volatile int durablePackSize;
  /** Chunks found damaged and not written again since. */
  private final Set<String> damaged = ConcurrentHashMap.newKeySet();
  /** Chunks this process stored or proved as deltas since {@link #generation}: id to its base's id. */
  private final Map<String, String> knownDeltas = new ConcurrentHashMap<>();
  /** Chunks this process wrote or proved in packs since {@link #generation}: id to its slot. */
  private final Map<String, ChunkPacks.Slot> knownPacked = new ConcurrentHashMap<>();
  /** The sizes of packs this process wrote or looked up since {@link #generation}. */
  private final Map<String, Long> packSizes = new ConcurrentHashMap<>();

  ChunkStore(BlobBackend backend, ChunkCodec codec) {
    this.backend = backend;
    this.codec = codec;
  }

  static String key(String id) {
    return PREFIX + id.substring(0, 2) + "/" + id;
  }

  static String deltaKey(String id) {
    return DELTAS + id.substring(0, 2) + "/" + id;
  }

  /** The id of a chunk's key in a listing of {@link #PREFIX} or {@link #DELTAS}. */
  static String idOf(String key) {
    return key.substring(key.lastIndexOf('/') + 1);
  }

  ChunkCodec codec() {
    return codec;
  }

  /**
   * Chunks of fewer bytes than this go into packs: the backend's {@link BlobBackend#packBelow}, or 0 with the store
   * option {@code packs=false}, where each chunk is an object of its own and manifests stay in a format that versions
   * before packs read.
   */
  int packBelow() {
    return packing ? Math.max(backend.packBelow(), packFloor) : 0;
  }

  /** The bytes a pack is filled to before it is written: the backend's {@link BlobBackend#packSize}. */
  int packSize() {
    return durablePackSize > 0 ? durablePackSize : backend.packSize();
  }

  /**
   * Packs at least the chunks {@code durable} packs, into packs of its size: a local tier packs as its durable tier
   * would, because its chunks and packs are copied there as they are stored.
   */
  void packAs(ChunkStore durable) {
    packFloor = durable.packBelow();
    durablePackSize = durable.packSize();
  }

  void packing(boolean on) {
    packing = on;
  }

  /** Stores a chunk unless present; returns the bytes it added to the store (0 when deduplicated). */
  long put(String id, byte[] raw) throws IOException {
    return store(encode(id, raw));
  }

  /** A chunk encoded for the backend (the CPU half of a put); no bytes when the store has it already. */
  Encoded encode(String id, byte[] raw) {
    String key = key(id);
    return new Encoded(id, key, known.contains(id) ? null : codec.encode(key, raw));
  }

  /** As {@link #encode}, for a chunk's raw bytes in {@code framed[1, ...)}: see {@link ChunkCodec#encodeFramed}. */
  Encoded encodeFramed(String id, byte[] framed) {
    String key = key(id);
    return new Encoded(id, key, known.contains(id) ? null : codec.encodeFramed(key, framed));
  }

  /**
   * Writes an encoded chunk unless present (the I/O half); returns the bytes added, 0 when deduplicated.
   * A present object of another size than this encoding is damaged (encodings of one content have one
   * size): it is replaced.
   */
  long store(Encoded chunk) throws IOException {
    if (chunk.bytes() == null || known.contains(chunk.id())) {
      return 0;
    }
    boolean created;
    if (damaged.contains(chunk.id())) { // found damaged on read: its size may be right, its bytes are not
      backend.put(chunk.key(), chunk.bytes());
      created = true;
    } else {
      created = createOrReplaceDamaged("chunk", chunk.id(), chunk.key(), chunk.bytes());
    }
    known.add(chunk.id());
    damaged.remove(chunk.id());
    return created ? chunk.bytes().length : 0;
  }

  /**
   * Writes an object named by its content unless present; a present one of another size is damaged (encodings of
   * one content have one size) and is replaced. Returns whether it wrote.
   */
  private boolean createOrReplaceDamaged(String what, String id, String key, byte[] bytes) throws IOException {
    if (backend.putIfAbsent(key, bytes)) {
      return true;
    }
    Optional<BlobInfo> present = backend.stat(key);
    if (present.isPresent() && present.get().size() == bytes.length) {
      return false;
    }
    log.warn("{} {} in {} is damaged ({} bytes where {} were expected): replacing it", what, id, backend.describe(),
        present.map(i -> Long.toString(i.size())).orElse("no"), bytes.length);
    backend.put(key, bytes);
    return true;
  }

  /**
   * Writes a pack of chunks unless present (a present one of another size is damaged: it is replaced), then knows
   * its chunks as packed there.
   */
  void storePack(String packId, byte[] bytes, List<Manifest.Packed> in) throws IOException {
    createOrReplaceDamaged("pack", packId, ChunkPacks.key(packId), bytes);
    packSizes.put(packId, (long) bytes.length);
    for (Manifest.Packed p : in) {
      if (p.base() == null) { // a delta is its member's own: see ChunkPacks.deltaName
        knownPacked.put(p.id(), new ChunkPacks.Slot(packId, p.offset(), p.size()));
        damaged.remove(p.id());
      }
    }
  }

  /**
   * Looks up each of these packs (pack id to the chunks in it) and marks damaged the chunks that end past the end
   * of theirs: a truncated or missing pack's. Once per pack and collection generation.
   */
  void checkPacks(Map<String, List<Manifest.Packed>> packs) throws IOException {
    for (Map.Entry<String, List<Manifest.Packed>> p : packs.entrySet()) {
      Long size = packSizes.get(p.getKey());
      if (size == null) {
        size = backend.stat(ChunkPacks.key(p.getKey())).map(BlobInfo::size).orElse(0L);
        packSizes.put(p.getKey(), size);
      }
      for (Manifest.Packed c : p.getValue()) {
        if (c.offset() + c.size() > size) {
          damagedPacked(c.id());
        }
      }
    }
  }

  /** Where this process stored or proved a chunk in a pack in this collection generation. */
  Optional<ChunkPacks.Slot> knownPacked(String id) {
    return Optional.ofNullable(knownPacked.get(id));
  }

  /** Whether this process stored or proved the chunk whole in this collection generation. */
  boolean knownWhole(String id) {
    return known.contains(id);
  }

  /** The base of a chunk this process stored or proved as a delta in this collection generation. */
  Optional<String> knownDelta(String id) {
    return Optional.ofNullable(knownDeltas.get(id));
  }

  /** A chunk's delta encoded as it is stored, alone or in a pack. */
  byte[] encodeDelta(String id, byte[] deltaRaw) {
    return codec.encode(deltaKey(id), deltaRaw);
  }

  /**
   * Stores a chunk's encoded delta against {@code baseId} as an object unless a delta of it exists; returns the
   * bytes added, or -1 when a delta of it is present already (its base unknown here: the caller stores the chunk
   * whole instead).
   */
  long storeDelta(String id, String baseId, byte[] bytes) throws IOException {
    String key = deltaKey(id);
    if (!backend.putIfAbsent(key, bytes)) {
      return -1;
    }
    knownDeltas.put(id, baseId);
    damaged.remove(id);
    return bytes.length;
  }

  /**
   * A full chunk's content, verified, to compute a delta against: from the pack at {@code slot} when it is not null,
   * else its object. Empty when it is absent, stored only as a delta, or damaged (the caller then stores its chunk
   * whole).
   */
  Optional<byte[]> readWhole(String id, ChunkPacks.@Nullable Slot slot, int length) throws IOException {
    Optional<byte[]> stored = stored(id, slot);
    Runnable damage = slot == null ? () -> damagedWhole(id) : () -> damagedPacked(id);
    if (stored.isEmpty()) {
      if (slot != null) {
        damage.run(); // its pack is missing or too short
      }
      return Optional.empty();
    }
    try {
      byte[] raw = codec.decode(key(id), stored.get(), length);
      if (raw.length == length && codec.id(raw, 0, raw.length).equals(id)) {
        if (slot != null) {
          knownPacked.put(id, slot); // read and verified: proven
        }
        return Optional.of(raw);
      }
    } catch (ChunkCodec.UnreadableException e) {
      log.debug("chunk {} is unreadable ({}): not a delta base", id, e.getMessage());
    }
    damage.run();
    return Optional.empty();
  }

  /** A chunk's stored bytes: its slot of a pack (empty when the pack is missing or too short), else its object. */
  private Optional<byte[]> stored(String id, ChunkPacks.@Nullable Slot slot) throws IOException {
    if (slot == null) {
      return backend.get(key(id));
    }
    return backend.getRange(ChunkPacks.key(slot.pack()), slot.offset(), slot.size())
        .filter(b -> b.length == slot.size());
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
    return unproven(chunks, Map.of(), trustKnown);
  }

  /**
   * As {@link #unproven(Map, boolean)}, where the chunks in {@code deltas} (id to base id) are stored as deltas:
   * those count as proven when their delta object exists (a restore verifies it by the full content's hash), or
   * when they are stored whole. Their bases must be among {@code chunks}.
   */
  Set<String> unproven(Map<String, Integer> chunks, Map<String, String> deltas, boolean trustKnown)
      throws IOException {
    return unproven(chunks, deltas, Map.of(), trustKnown);
  }

  /**
   * As {@link #unproven(Map, Map, boolean)}, where the chunks in {@code packed} are stored in packs: those count as
   * proven when their pack exists and is long enough to hold them (a restore verifies each by its hash).
   */
  Set<String> unproven(Map<String, Integer> chunks, Map<String, String> deltas, Map<String, ChunkPacks.Slot> packed,
      boolean trustKnown) throws IOException {
    Map<String, Integer> todo = new HashMap<>();
    Map<String, Integer> deltaTodo = new HashMap<>();
    Map<String, Long> packEnds = new HashMap<>();
    for (Map.Entry<String, Integer> c : chunks.entrySet()) {
      String id = c.getKey();
      String base = deltas.get(id);
      ChunkPacks.Slot slot = packed.get(id);
      if (slot != null) {
        if (!(trustKnown && slot.equals(knownPacked.get(id)))) {
          packEnds.merge(slot.pack(), slot.offset() + slot.size(), Math::max);
        }
      } else if (base != null) {
        if (!(trustKnown && base.equals(knownDeltas.get(id)))) {
          deltaTodo.put(id, c.getValue());
        }
      } else if (!trustKnown || !known.contains(id)) {
        todo.put(id, c.getValue());
      }
    }
    Set<String> bad = new HashSet<>();
    Set<String> shortPacks = new HashSet<>();
    for (Map.Entry<String, Long> p : packEnds.entrySet()) { // a few packs: one look-up each
      long size = backend.stat(ChunkPacks.key(p.getKey())).map(BlobInfo::size).orElse(-1L);
      if (size < p.getValue()) {
        shortPacks.add(p.getKey());
      }
    }
    packed.forEach((id, slot) -> {
      if (!chunks.containsKey(id) || !packEnds.containsKey(slot.pack())) {
        return;
      }
      if (shortPacks.contains(slot.pack())) {
        bad.add(id);
        knownPacked.remove(id);
        damaged.add(id);
      } else if (slot.base() == null) {
        knownPacked.put(id, slot);
      }
    });
    Set<String> deltasPresent = new HashSet<>();
    if (deltaTodo.size() > STAT_LIMIT) {
      for (BlobInfo info : backend.list(DELTAS)) {
        if (info.size() > 0) {
          deltasPresent.add(idOf(info.key()));
        }
      }
    } else {
      for (String id : deltaTodo.keySet()) {
        backend.stat(deltaKey(id)).filter(i -> i.size() > 0).ifPresent(i -> deltasPresent.add(id));
      }
    }
    for (Map.Entry<String, Integer> d : deltaTodo.entrySet()) {
      if (deltasPresent.contains(d.getKey())) {
        knownDeltas.put(d.getKey(), deltas.get(d.getKey()));
      } else {
        todo.put(d.getKey(), d.getValue()); // proven if it is stored whole
      }
    }
    Map<String, Long> sizes = new HashMap<>();
    if (todo.size() > STAT_LIMIT) {
      for (BlobInfo info : backend.list(PREFIX)) {
        String id = idOf(info.key());
        if (todo.containsKey(id)) {
          sizes.put(id, info.size());
        }
      }
    } else {
      for (String id : todo.keySet()) {
        backend.stat(key(id)).ifPresent(i -> sizes.put(id, i.size()));
      }
    }
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

  /** How many chunk reads or writes to keep in flight: the backend's own figure. */
  int concurrency() {
    return Math.max(1, backend.concurrency());
  }

  /**
   * A chunk's raw bytes after verifying its hash; errors name the checkpoint, member and chunk. {@code slots} says
   * where the member's packed chunks are: the chunk itself, or the base of its delta.
   */
  ByteBuffer read(ChunkRef ref, Map<String, ChunkPacks.Slot> slots, String checkpointId, String memberId)
      throws IOException {
    return read(ref, slots, checkpointId, memberId, null);
  }

  /** The same, telling {@code bases} the base of a delta it read, once verified (a capture may need it again). */
  ByteBuffer read(ChunkRef ref, Map<String, ChunkPacks.Slot> slots, String checkpointId, String memberId,
      @Nullable BiConsumer<String, ByteBuffer> bases) throws IOException {
    ChunkPacks.Slot slot = slots.get(ref.id());
    if (slot != null) {
      return fromPack(ref, slot, slots, checkpointId, memberId, bases);
    }
    Optional<byte[]> stored = backend.get(key(ref.id()));
    if (stored.isEmpty()) {
      Optional<byte[]> delta = backend.get(deltaKey(ref.id()));
      if (delta.isEmpty()) {
        throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "chunk missing from the store");
      }
      return ByteBuffer.wrap(fromDelta(ref, delta.get(), slots, checkpointId, memberId, bases)).asReadOnlyBuffer();
    }
    return verified(ref, stored.get(), "", () -> damagedWhole(ref.id()), checkpointId, memberId);
  }

  /**
   * A stored chunk's raw bytes, decoded and checked against its length and hash ({@code where} it was found, for
   * messages); {@code damage} marks it damaged when they do not match. A chunk stored raw is read in place, not
   * copied out of what the backend returned.
   */
  private ByteBuffer verified(ChunkRef ref, byte[] stored, String where, Runnable damage, String checkpointId,
      String memberId) throws CorruptCheckpointException {
    ByteBuffer raw;
    try {
      raw = codec.decodeChunk(key(ref.id()), stored, ref.length());
    } catch (ChunkCodec.UnreadableException e) {
      damage.run();
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), e.getMessage() + where);
    }
    if (raw.remaining() != ref.length()
        || !codec.id(raw.array(), raw.arrayOffset(), raw.remaining()).equals(ref.id())) {
      damage.run();
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "content does not match its hash" + where);
    }
    return raw.asReadOnlyBuffer();
  }

  private ByteBuffer fromPack(ChunkRef ref, ChunkPacks.Slot slot, Map<String, ChunkPacks.Slot> slots,
      String checkpointId, String memberId, @Nullable BiConsumer<String, ByteBuffer> bases) throws IOException {
    byte[] stored = backend.getRange(ChunkPacks.key(slot.pack()), slot.offset(), slot.size()).orElse(null);
    if (stored == null || stored.length != slot.size()) {
      damagedPacked(ref.id());
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "its pack " + slot.pack()
          + (stored == null ? " is missing from the store" : " ends before the chunk does"));
    }
    if (slot.base() != null) { // its delta
      try {
        return ByteBuffer.wrap(fromDelta(ref, stored, slots, checkpointId, memberId, bases)).asReadOnlyBuffer();
      } catch (CorruptCheckpointException e) {
        damagedPacked(ref.id());
        throw e;
      }
    }
    return verified(ref, stored, " (in pack " + slot.pack() + ")", () -> damagedPacked(ref.id()), checkpointId,
        memberId);
  }

  /** Marks a packed chunk damaged: a capture that holds its content writes it again. */
  private void damagedPacked(String id) {
    damaged.add(id);
    knownPacked.remove(id);
  }

  /**
   * A chunk rebuilt from its delta and its base, both verified by the rebuilt content's hash. A delta or base that
   * fails is marked damaged, as a damaged whole chunk is: a later capture then stores that content whole instead of
   * naming the delta again.
   */
  private byte[] fromDelta(ChunkRef ref, byte[] stored, Map<String, ChunkPacks.Slot> slots, String checkpointId,
      String memberId, @Nullable BiConsumer<String, ByteBuffer> bases) throws IOException {
    try {
      return rebuild(ref, stored, slots, checkpointId, memberId, bases);
    } catch (CorruptCheckpointException e) {
      damagedDelta(ref.id());
      throw e;
    }
  }

  /**
   * A chunk rebuilt from the given stored bytes of its delta and its base here (in a pack when {@code slots} says
   * so), verified as a read is.
   */
  byte[] fromStoredDelta(ChunkRef ref, byte[] storedDelta, Map<String, ChunkPacks.Slot> slots, String checkpointId,
      String memberId) throws IOException {
    return fromDelta(ref, storedDelta, slots, checkpointId, memberId, null);
  }

  /** The base that this store's delta of a chunk of {@code length} bytes names; empty when absent or unreadable. */
  Optional<String> deltaBase(String id, int length) throws IOException {
    Optional<byte[]> stored = backend.get(deltaKey(id));
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(ChunkDelta.parse(codec.decodeAtMost(deltaKey(id), stored.get(),
          ChunkDelta.maxRawSize(length)), length).baseId());
    } catch (ChunkCodec.UnreadableException e) {
      return Optional.empty();
    }
  }

  /** Marks a delta damaged: this process neither names it again nor takes it as proven. */
  private void damagedDelta(String id) {
    damaged.add(id);
    knownDeltas.remove(id);
  }

  /** Marks a whole chunk damaged: a capture that holds its content writes it again. */
  private void damagedWhole(String id) {
    damaged.add(id);
    known.remove(id);
  }

  private byte[] rebuild(ChunkRef ref, byte[] stored, Map<String, ChunkPacks.Slot> slots, String checkpointId,
      String memberId, @Nullable BiConsumer<String, ByteBuffer> bases) throws IOException {
    ChunkDelta.Parsed delta;
    try {
      delta = ChunkDelta.parse(codec.decodeAtMost(deltaKey(ref.id()), stored, ChunkDelta.maxRawSize(ref.length())),
          ref.length());
    } catch (ChunkCodec.UnreadableException e) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "its delta is damaged: " + e.getMessage());
    }
    String baseKey = key(delta.baseId());
    ChunkPacks.Slot baseSlot = slots.get(delta.baseId());
    Optional<byte[]> base = stored(delta.baseId(), baseSlot);
    String where = baseSlot == null ? "" : " (in pack " + baseSlot.pack() + ")";
    Runnable baseDamaged = baseSlot == null ? () -> damagedWhole(delta.baseId()) : () -> damagedPacked(delta.baseId());
    if (base.isEmpty()) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "the base of its delta, chunk "
          + delta.baseId() + where + ", is missing from the store");
    }
    byte[] raw;
    try {
      byte[] baseRaw = codec.decode(baseKey, base.get(), ref.length());
      if (!codec.id(baseRaw, 0, baseRaw.length).equals(delta.baseId())) {
        baseDamaged.run();
        throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "the base of its delta, chunk "
            + delta.baseId() + where + ", does not match its hash");
      }
      if (bases != null) {
        bases.accept(delta.baseId(), ByteBuffer.wrap(baseRaw).asReadOnlyBuffer()); // apply copies it
      }
      raw = delta.apply(baseRaw);
    } catch (ChunkCodec.UnreadableException e) {
      baseDamaged.run(); // which of the two is unreadable is not known here: neither is used again
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "the base of its delta, chunk "
          + delta.baseId() + where + ", or the delta is damaged: " + e.getMessage());
    }
    if (!codec.id(raw, 0, raw.length).equals(ref.id())) {
      throw new CorruptCheckpointException(checkpointId, memberId, ref.id(), "content rebuilt from its delta on chunk "
          + delta.baseId() + " does not match its hash");
    }
    return raw;
  }

  /** The collection generation seen now: what was known of chunks in an older one is forgotten. */
  void generationIs(String now) {
    if (!now.equals(generation)) {
      known.clear();
      knownDeltas.clear();
      knownPacked.clear();
      packSizes.clear();
      generation = now;
    }
  }

  /** A collection deleted the chunk. */
  void deleted(String id) {
    known.remove(id);
    knownDeltas.remove(id);
  }

  /** A collection deleted the pack. */
  void packDeleted(String packId) {
    knownPacked.values().removeIf(s -> s.pack().equals(packId));
    packSizes.remove(packId);
  }

  /** {@code bytes} is null when the store already holds the chunk. */
  record Encoded(String id, String key, byte[] bytes) {}
}
