package io.lencap.iscsi;

import io.lencap.api.CorruptCheckpointException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.RestoreContext;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A LUN's restore onto its target, in three steps. The LUN is read (READs in flight) and each piece hashed: a chunk
 * the LUN already holds is neither read from the store nor written, so a differential restore reads from the store
 * only what differs. Every chunk that differs is then verified, before the first write, so that a corrupt
 * checkpoint leaves the LUN untouched. Then they are written with WRITEs in flight: from memory when they fit in
 * {@link #HELD_BYTES}, else read and verified again as they stream from the store.
 *
 * <p>Comparing the LUN's bytes with the stored chunks' instead of hashing them saves a SHA-256 pass and made a whole
 * restore from the local store faster here (BENCHMARKS.md), but it reads every stored chunk: a whole LUN
 * downloaded from S3 to write 1% of it.
 */
final class LunRestore {

  private static final Logger LOG = LoggerFactory.getLogger(LunRestore.class);
  /** The most verified bytes kept in memory between verifying and writing them: a small difference is read once. */
  static final long HELD_BYTES = 32L << 20;

  private final IscsiSession session;
  private final RestoreContext context;
  private final StoredState state;
  private final StoredEntry entry;
  private final String member;

  /** {@code entry}'s chunks are checked already: contiguous, in order, none above the format's limit. */
  LunRestore(IscsiSession session, RestoreContext context, StoredEntry entry, String member) {
    this.session = session;
    this.context = context;
    this.state = context.state();
    this.entry = entry;
    this.member = member;
  }

  void run(int pieceBytes) throws IOException {
    long started = System.nanoTime();
    List<ChunkRef> differing = compare(pieceBytes);
    long compared = System.nanoTime();
    long total = differing.stream().mapToLong(ChunkRef::length).sum();
    StoredEntry toWrite = new StoredEntry(LunDriver.ENTRY, EntryKind.FILE, total, Map.of(), differing);
    byte[] held = total <= HELD_BYTES ? new byte[(int) total] : null;
    try (InputStream stored = state.open(toWrite)) { // the store reads and verifies several chunks ahead
      if (held == null) {
        stored.transferTo(OutputStream.nullOutputStream());
      } else if (stored.readNBytes(held, 0, held.length) != held.length) {
        throw corrupt("-", "the stored LUN holds fewer bytes than its chunks list");
      }
    }
    long verified = System.nanoTime();
    List<long[]> ranges = differing.stream().map(c -> new long[] {c.offset(), c.length()}).toList();
    try (InputStream stored = held != null ? new ByteArrayInputStream(held) : state.open(toWrite)) {
      long[] done = {0};
      session.write(ranges, (offset, data) -> {
        context.checkCancelled();
        int n = data.remaining();
        if (stored.readNBytes(data.array(), data.arrayOffset() + data.position(), n) != n) {
          throw corrupt("-", "the stored LUN ended before its bytes at " + offset);
        }
        data.position(data.limit());
        done[0] += n;
        context.progress(done[0], total);
      });
    }
    session.synchronizeCache();
    LOG.info("{}: restored {} of {} chunks ({} bytes) onto {}: compared in {} ms, verified in {} ms, written in {} ms"
        + "{}", member, differing.size(), entry.chunks().size(), total, session.address(),
        (compared - started) / 1_000_000, (verified - compared) / 1_000_000, (System.nanoTime() - verified) / 1_000_000,
        held == null ? " (read from the store twice)" : "");
  }

  /** The stored chunks the LUN does not hold, in order. */
  private List<ChunkRef> compare(int pieceBytes) throws IOException {
    List<ChunkRef> differing = new ArrayList<>();
    var chunks = entry.chunks().iterator();
    session.stream(0, entry.size(), pieceBytes, (offset, current) -> {
      context.checkCancelled();
      while (current.hasRemaining()) {
        ChunkRef chunk = chunks.next();
        if (chunk.offset() != offset + current.position() || chunk.length() > current.remaining()) {
          throw corrupt(chunk.id(), "chunk at " + chunk.offset() + " does not follow the LUN's chunking");
        }
        if (!state.matches(chunk, current.slice(current.position(), chunk.length()))) {
          differing.add(chunk);
        }
        current.position(current.position() + chunk.length());
      }
    });
    return differing;
  }

  private CorruptCheckpointException corrupt(String chunkId, String problem) {
    return new CorruptCheckpointException(context.checkpointId(), member, chunkId, problem);
  }
}
