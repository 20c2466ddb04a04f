package io.lencap.iscsi;

import io.lencap.iscsi.IscsiException.Reason;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.jscsi.parser.scsi.SCSIStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI session (one connection, error recovery level 0) to one LUN, with pipelined commands: the SCSI
 * commands Lencap needs (REPORT LUNS, INQUIRY, READ CAPACITY, READ, WRITE, SYNCHRONIZE CACHE) over three layers,
 * {@link LoginNegotiation} (login and CHAP), {@link CommandWindow} (tags, CmdSN window, answers to commands in
 * flight) and {@link PduChannel} (framing, bounds and time limits).
 *
 * <p>Why not jSCSI's {@code Initiator}: its classes are final, it addresses only LUN 0, its security phase is
 * empty (no CHAP), and it keeps one command in flight (about 120 MiB/s against istgt where libiscsi reads
 * 1.7 GB/s). We keep jSCSI's PDU codec (org.jscsi:commons) and add what is missing: the LUN field, CHAP (one-way
 * or mutual), a command window, NOP-In answers, and time limits on every socket read and write.
 *
 * <p>The target is a peer we do not control: every length it sends is checked against what was asked (Data-In
 * offsets, residuals, R2T ranges, data segment sizes), negotiated values against RFC 7143's ranges, and a READ
 * reported GOOD with fewer bytes than asked fails naming the target and LBA. Calls are serialised by a lock;
 * {@link #close()} from another thread while a call is stuck drops the connection instead of waiting for it.
 */
final class IscsiSession implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(IscsiSession.class);
  /** Bytes per READ command in {@link #stream}, rounded down to whole pieces; the most per WRITE in {@link #write}. */
  private static final int READ_BYTES = 1 << 20;
  /** The largest block size accepted: disks use 512 or 4096 bytes; 64 KiB leaves room, not a buffer size to abuse. */
  static final int MAX_BLOCK_SIZE = 64 * 1024;
  private static final SecureRandom RANDOM = new SecureRandom();
  /** How long a polite logout may take on close. */
  private static final Duration LOGOUT_TIMEOUT = Duration.ofSeconds(2);

  /** Tunables; the defaults are the sizes measured best against istgt here. */
  record Options(String initiatorName, int maxRecvDataSegmentLength, int maxBurstLength, Duration timeout,
          int queueDepth) {
    static Options defaults() {
      return new Options("iqn.2024-01.io.lencap:initiator", 256 * 1024, 256 * 1024, Duration.ofSeconds(30), 8);
    }
  }

  /** Receives streamed data in order; the buffer is reused once the call returns. */
  @FunctionalInterface
  interface BlockSink {
    void accept(long byteOffset, ByteBuffer data) throws IOException;
  }

  /** Supplies written data in order: fills {@code data}'s remaining bytes, those for byte {@code byteOffset} on. */
  @FunctionalInterface
  interface BlockSource {
    void fill(long byteOffset, ByteBuffer data) throws IOException;
  }

  private final LunAddress address;
  private final Options options;
  private final PduChannel channel;
  private final CommandWindow window;
  /** Held by each call; close() uses the connection only when it can take it. */
  private final ReentrantLock io = new ReentrantLock();
  private List<Integer> reportedLuns = List.of();
  /** Set when a call ended in an exception: commands may still be in flight, so the session is never reused. */
  private volatile boolean faulted;
  private long blockCount;
  private int blockSize;

  private IscsiSession(LunAddress address, Options options, PduChannel channel, CommandWindow window) {
    this.address = address;
    this.options = options;
    this.channel = channel;
    this.window = window;
  }

  /** Connects without mutual CHAP: see {@link #open(LunAddress, Optional, Optional, Options)}. */
  static IscsiSession open(LunAddress address, Optional<Chap> chap, Options options) throws IscsiException {
    return open(address, chap, Optional.empty(), options);
  }

  /**
   * Connects, logs in (with CHAP when {@code chap} is given, and mutual CHAP when {@code targetChap} is too),
   * checks that the LUN exists and is a disk, and reads its capacity. With credentials, a target that does not
   * authenticate is refused: there is no fallback to no authentication.
   */
  static IscsiSession open(LunAddress address, Optional<Chap> chap, Optional<Chap> targetChap, Options options)
      throws IscsiException {
    if (targetChap.isPresent() && chap.isEmpty()) {
      throw new IllegalArgumentException("mutual CHAP needs the initiator's credentials too");
    }
    Socket socket = new Socket();
    try {
      int timeoutMillis = (int) options.timeout().toMillis();
      socket.connect(new InetSocketAddress(address.host(), address.port()), timeoutMillis);
      socket.setSoTimeout(timeoutMillis);
      socket.setTcpNoDelay(true);
      LoginRefusal refusal = new LoginRefusal(address, chap.isPresent());
      PduChannel channel = new PduChannel(socket, address, options.timeout(), refusal);
      LoginNegotiation.Result login = LoginNegotiation.login(channel, options, refusal,
        chap.map(c -> new ChapLogin(c, targetChap, address.iqn(), RANDOM)));
      IscsiSession session = new IscsiSession(address, options, channel,
        new CommandWindow(channel, login, options.timeout()));
      session.checkLunExists();
      session.checkLunIsADisk();
      session.readCapacity();
      return session;
    } catch (IscsiException e) {
      closeQuietly(socket);
      throw e;
    } catch (IOException e) {
      closeQuietly(socket);
      throw new IscsiException(Reason.UNAVAILABLE, "cannot reach iSCSI target at " + address.host() + ":"
        + address.port() + ": " + e.getMessage(), e);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing to save
    }
  }

  LunAddress address() {
    return address;
  }

  long blockCount() {
    return blockCount;
  }

  int blockSize() {
    return blockSize;
  }

  long sizeBytes() {
    return blockCount * blockSize;
  }

  private void checkLunExists() throws IOException {
    ByteBuffer data = ByteBuffer.allocate(8 + 8 * 256);
    ScsiTask task = run(Cdb.reportLuns(data.capacity()), 0L, data, false, false);
    if (task.status != SCSIStatus.GOOD) {
      return; // a target without REPORT LUNS: READ CAPACITY below tells whether the LUN exists
    }
    List<Integer> luns = Cdb.parseReportLuns(data.array(), task.transferred);
    reportedLuns = luns;
    if (!luns.contains(address.lun())) {
      throw new IscsiException(Reason.NOT_FOUND, "LUN " + address.lun() + " not found on iSCSI target "
        + address.iqn() + " at " + address.host() + ":" + address.port() + " (it has LUNs " + luns + ")");
    }
  }

  /**
   * Refuses a LUN that is not a disk, such as tgt's LUN 0 (its controller), in the user's terms and naming the
   * target's disks. A target without INQUIRY is left to READ CAPACITY.
   */
  private void checkLunIsADisk() throws IOException {
    Cdb.Inquiry inquiry = inquiry(address.lunField());
    if (inquiry == null || inquiry.isDisk()) {
      return;
    }
    String where = "LUN " + address.lun() + " of iSCSI target " + address.iqn() + " at " + address.host() + ":"
      + address.port();
    if (!inquiry.present()) {
      throw new IscsiException(Reason.NOT_FOUND, where + " has no device behind it");
    }
    List<Integer> disks = new ArrayList<>();
    for (int lun : reportedLuns.subList(0, Math.min(reportedLuns.size(), 64))) {
      Cdb.Inquiry other = lun == address.lun() ? null : inquiry(LunAddress.lunField(lun));
      if (other != null && other.isDisk()) {
        disks.add(lun);
      }
    }
    String use = disks.isEmpty() ? (reportedLuns.isEmpty() ? "use LUN 1 or another LUN of the target that is a disk"
        : "the target lists no disk among its LUNs " + reportedLuns)
      : disks.size() == 1 ? "use LUN " + disks.get(0) : "use one of its disk LUNs " + disks;
    throw new IscsiException(Reason.NOT_FOUND, where + " is " + inquiry.describe() + ", not a disk: " + use);
  }

  /** Standard INQUIRY of one LUN; null when the target does not answer it. */
  private Cdb.Inquiry inquiry(long lunField) throws IOException {
    ByteBuffer data = ByteBuffer.allocate(96);
    ScsiTask task = run(Cdb.inquiry(data.capacity()), lunField, data, false, false);
    return task.status == SCSIStatus.GOOD ? Cdb.Inquiry.parse(data.array(), task.transferred) : null;
  }

  private void readCapacity() throws IOException {
    ByteBuffer data = ByteBuffer.allocate(8);
    run(Cdb.readCapacity10(), address.lunField(), data, false, true);
    long lastLba = Integer.toUnsignedLong(data.getInt(0));
    blockSize = data.getInt(4);
    if (lastLba == 0xffffffffL) {
      ByteBuffer data16 = ByteBuffer.allocate(32);
      run(Cdb.readCapacity16(32), address.lunField(), data16, false, true);
      lastLba = data16.getLong(0);
      blockSize = data16.getInt(8);
    }
    // Callers size buffers by the block: an absurd one from the target must not size them.
    if (blockSize <= 0 || blockSize > MAX_BLOCK_SIZE || Integer.bitCount(blockSize) != 1) {
      throw new IscsiException(Reason.PROTOCOL, "LUN " + address + " reports block size " + blockSize
        + " (a disk's is a power of two up to " + MAX_BLOCK_SIZE + " bytes)");
    }
    // READ CAPACITY returns the last LBA, so the LUN holds one block more; its bytes must be countable in a long.
    if (lastLba < 0 || lastLba >= Long.MAX_VALUE / blockSize) {
      throw new IscsiException(Reason.PROTOCOL, "LUN " + address + " reports last LBA "
        + Long.toUnsignedString(lastLba) + " of " + blockSize + "-byte blocks: more bytes than a LUN can hold");
    }
    blockCount = lastLba + 1;
  }

  /** Reads {@code dst.remaining()} bytes (whole blocks) from {@code lba} into {@code dst}. */
  void read(long lba, ByteBuffer dst) throws IOException {
    locked(() -> {
      checkRange(lba, dst.remaining());
      run(Cdb.read(lba, dst.remaining() / blockSize), address.lunField(), dst, false, true);
    });
  }

  /** Writes {@code src.remaining()} bytes (whole blocks) at {@code lba}. */
  void write(long lba, ByteBuffer src) throws IOException {
    locked(() -> {
      checkRange(lba, src.remaining());
      run(Cdb.write(lba, src.remaining() / blockSize), address.lunField(), src, true, true);
      channel.flush();
    });
  }

  /**
   * Writes ranges {offset, length} (ascending, apart, whole blocks) with up to {@link Options#queueDepth()} WRITEs
   * in flight, taking their bytes from {@code source} in order. Adjacent ranges share a WRITE of up to 1 MiB, as
   * reads do: istgt spends much of its CPU per command.
   */
  void write(List<long[]> ranges, BlockSource source) throws IOException {
    locked(() -> {
      checkRanges(ranges);
      int depth = Math.max(1, options.queueDepth());
      ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
      ArrayDeque<ScsiTask> queue = new ArrayDeque<>();
      ArrayDeque<ByteBuffer> buffers = new ArrayDeque<>(); // each queued task's whole buffer (its own is a slice)
      for (List<long[]> run : writeRuns(ranges, READ_BYTES)) {
        long offset = run.get(0)[0];
        int n = (int) run.stream().mapToLong(r -> r[1]).sum();
        if (queue.size() == depth) {
          requireGood(window.await(queue.poll()));
          free.add(buffers.poll());
        }
        ByteBuffer buffer = free.isEmpty() ? ByteBuffer.allocate(READ_BYTES) : free.poll();
        buffer.clear().limit(n);
        for (long[] r : run) { // the source sees each range on its own, as it was given
          ByteBuffer part = buffer.slice(buffer.position(), (int) r[1]);
          source.fill(r[0], part);
          if (part.hasRemaining()) { // else the WRITE would carry a reused buffer's stale bytes
            throw new IllegalStateException("the source left " + part.remaining() + " bytes at " + r[0] + " unfilled");
          }
          buffer.position(buffer.position() + (int) r[1]);
        }
        buffer.flip();
        buffers.add(buffer);
        queue.add(window.submit(Cdb.write(offset / blockSize, n / blockSize), address.lunField(), buffer, true));
        channel.flush();
      }
      while (!queue.isEmpty()) {
        requireGood(window.await(queue.poll()));
      }
    });
  }

  /**
   * Groups ranges into the runs one WRITE each covers: contiguous ranges, at most {@code most} bytes together; a
   * range longer than that is cut into pieces of {@code most} bytes.
   */
  static List<List<long[]>> writeRuns(List<long[]> ranges, int most) {
    List<List<long[]>> runs = new ArrayList<>();
    List<long[]> run = new ArrayList<>();
    long runEnd = -1;
    long runBytes = 0;
    for (long[] r : ranges) {
      for (long at = r[0]; at < r[0] + r[1]; ) {
        long n = Math.min(most, r[0] + r[1] - at);
        if (at != runEnd || runBytes + n > most) {
          if (!run.isEmpty()) {
            runs.add(run);
          }
          run = new ArrayList<>();
          runBytes = 0;
        }
        run.add(new long[] {at, n});
        runBytes += n;
        at += n;
        runEnd = at;
      }
    }
    if (!run.isEmpty()) {
      runs.add(run);
    }
    return runs;
  }

  /** Flushes the target's write cache (SYNCHRONIZE CACHE). */
  void synchronizeCache() throws IOException {
    locked(this::synchronizeCacheLocked);
  }

  private void synchronizeCacheLocked() throws IOException {
    ScsiTask task = run(Cdb.synchronizeCache10(), address.lunField(), ByteBuffer.allocate(0), false, false);
    if (task.status != SCSIStatus.GOOD) {
      Cdb.Sense sense = Cdb.Sense.parse(task.sense);
      // Unsupported: ILLEGAL REQUEST, or (jSCSI's target) sense data cut to 2 bytes.
      if (sense == null ? task.sense.length < 14 : sense.illegalRequest()) {
        LOG.debug("{} has no SYNCHRONIZE CACHE: it writes through", address);
        return;
      }
      throw scsiFailure(task);
    }
  }

  /**
   * Reads {@code length} bytes from byte {@code offset} with up to {@link Options#queueDepth()} READs in flight,
   * handing each piece of at most {@code pieceBytes} to {@code sink} in order. The sink may call
   * {@link #write} on this session.
   */
  void stream(long offset, long length, int pieceBytes, BlockSink sink) throws IOException {
    stream(List.of(new long[] {offset, length}), pieceBytes, sink);
  }

  /** As above for ranges {offset, length}, ascending and apart, read with commands in flight across them. */
  void stream(List<long[]> ranges, int pieceBytes, BlockSink sink) throws IOException {
    locked(() -> streamLocked(ranges, pieceBytes, sink));
  }

  /**
   * Makes a session taken again from a pool fit for a new capture: reads the LUN's capacity afresh (it may have
   * grown meanwhile), which also proves that the connection still works, within {@code limit}.
   */
  void revalidate(Duration limit) throws IOException {
    locked(() -> {
      channel.timeout(limit);
      readCapacity();
      channel.timeout(options.timeout());
    });
  }

  /** Whether every call so far ended normally and the connection is open: the session may serve another capture. */
  boolean reusable() {
    return !faulted && channel.usable();
  }

  @FunctionalInterface
  private interface Call {
    void run() throws IOException;
  }

  /** Runs a call holding the session; one that throws leaves the session faulted for good. */
  private void locked(Call call) throws IOException {
    io.lock();
    try {
      call.run();
    } catch (IOException | RuntimeException | Error e) {
      faulted = true;
      throw e;
    } finally {
      io.unlock();
    }
  }

  private void streamLocked(List<long[]> ranges, int pieceBytes, BlockSink sink) throws IOException {
    if (pieceBytes <= 0 || pieceBytes % blockSize != 0) {
      throw new IllegalArgumentException("piece size " + pieceBytes + " is not a multiple of block size " + blockSize);
    }
    checkRanges(ranges);
    int depth = Math.max(1, options.queueDepth());
    // Each READ covers several pieces: istgt spends much of its CPU per command, so 1 MiB READs (libiscsi's
    // iscsi-perf size) move more bytes per target CPU second than one READ per 256 KiB piece.
    int readBytes = pieceBytes * Math.max(1, READ_BYTES / pieceBytes);
    ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    for (int i = 0; i < depth; i++) {
      free.add(ByteBuffer.allocate(readBytes));
    }
    ArrayDeque<ScsiTask> queue = new ArrayDeque<>();
    ArrayDeque<ByteBuffer> buffers = new ArrayDeque<>(); // each queued task's whole buffer (its own is a slice)
    int range = 0;
    long next = ranges.isEmpty() ? 0 : ranges.get(0)[0];
    long end = ranges.isEmpty() ? 0 : next + ranges.get(0)[1];
    while (next < end || range + 1 < ranges.size() || !queue.isEmpty()) {
      while (next >= end && range + 1 < ranges.size()) {
        long[] r = ranges.get(++range);
        next = r[0];
        end = r[0] + r[1];
      }
      if (next >= end && queue.isEmpty()) { // the last ranges were empty
        break;
      }
      while (next < end && !free.isEmpty()) {
        int n = (int) Math.min(readBytes, end - next);
        ByteBuffer buffer = free.poll().clear().limit(n);
        buffers.add(buffer);
        ScsiTask task = window.submit(Cdb.read(next / blockSize, n / blockSize), address.lunField(), buffer, false);
        task.offset = next;
        queue.add(task);
        next += n;
      }
      channel.flush();
      ScsiTask head = requireGood(window.await(queue.poll()));
      for (int at = 0; at < head.length; at += pieceBytes) {
        int n = Math.min(pieceBytes, head.length - at);
        // A slice: each piece starts at position 0, as sinks index pieces from their start.
        sink.accept(head.offset + at, head.buffer.slice(at, n));
      }
      free.add(buffers.poll());
    }
  }

  private void checkRanges(List<long[]> ranges) {
    long last = 0;
    for (long[] r : ranges) {
      if (r[0] < last || r[1] < 0 || r[0] % blockSize != 0 || r[1] % blockSize != 0) {
        throw new IllegalArgumentException("ranges must be ascending, apart, in multiples of block size " + blockSize);
      }
      checkRange(r[0] / blockSize, r[1]);
      last = r[0] + r[1];
    }
  }

  private void checkRange(long lba, long bytes) {
    if (bytes % blockSize != 0) {
      throw new IllegalArgumentException(bytes + " bytes is not a multiple of block size " + blockSize);
    }
    // Compared by subtraction: lba + blocks could overflow.
    if (lba < 0 || bytes < 0 || bytes / blockSize > blockCount || lba > blockCount - bytes / blockSize) {
      throw new IllegalArgumentException("blocks " + lba + "+" + bytes / blockSize + " outside LUN of "
        + blockCount + " blocks");
    }
  }

  /** Sends one command and waits for it; with {@code requireGood}, anything but a complete GOOD fails. */
  private ScsiTask run(ByteBuffer cdb, long lunField, ByteBuffer buffer, boolean write, boolean requireGood)
      throws IOException {
    ScsiTask task = window.await(window.submit(cdb, lunField, buffer, write));
    return requireGood ? requireGood(task) : task;
  }

  private ScsiTask requireGood(ScsiTask task) throws IscsiException {
    if (task.status != SCSIStatus.GOOD) {
      throw scsiFailure(task);
    }
    checkComplete(task);
    return task;
  }

  /**
   * A data command reported GOOD must have moved exactly what it asked: a short READ would leave the reused
   * buffer's stale bytes to be stored as the LUN's content.
   */
  private void checkComplete(ScsiTask task) throws IscsiException {
    if (task.length == 0 || Cdb.lbaOf(task.cdb).isEmpty()
        || (task.transferred == task.length && task.residual == 0)) {
      return; // only READ and WRITE must move all: a shorter answer to an allocation length is normal
    }
    String what = (task.write ? "WRITE" : "READ") + Cdb.lbaOf(task.cdb).map(lba -> " at LBA " + lba).orElse("");
    String moved = task.write ? " asked for " + task.transferred : " returned " + task.transferred;
    String residual = task.residual == 0 ? "" : task.residual > 0 ? ", residual underflow " + task.residual
      : ", residual overflow " + -task.residual;
    throw channel.fail(new IscsiException(Reason.PROTOCOL, "iSCSI target " + address.iqn() + " at "
      + address.host() + ":" + address.port() + moved + " of " + task.length + " bytes for the " + what
      + " on LUN " + address.lun() + " and reported GOOD" + residual + ": refusing the incomplete transfer"));
  }

  private IscsiException scsiFailure(ScsiTask task) {
    Cdb.Sense sense = Cdb.Sense.parse(task.sense);
    if (sense != null && sense.lunNotSupported()) {
      return new IscsiException(Reason.NOT_FOUND, "LUN " + address.lun() + " not found on iSCSI target "
        + address.iqn() + " at " + address.host() + ":" + address.port());
    }
    return new IscsiException(Reason.SCSI, "SCSI command on " + address + " failed with status " + task.status
      + (sense != null ? " (" + sense + ")"
        : task.sense.length > 0 ? " (sense data " + HexFormat.of().formatHex(task.sense) + ")" : ""));
  }

  /**
   * Logs out politely when the session is healthy and idle, then closes the connection. While another thread is
   * inside a call (possibly stuck on a peer that stopped reading), the socket is closed at once: that call fails,
   * and close never waits on the stream it holds.
   */
  @Override
  public void close() {
    if (!io.tryLock()) {
      LOG.debug("closing {} while a call is in progress: dropping the connection", address);
      channel.drop();
      return;
    }
    try {
      if (channel.usable()) {
        channel.timeout(LOGOUT_TIMEOUT);
        window.logout();
      }
    } catch (IOException | RuntimeException e) {
      LOG.debug("logout from {} failed: {}", address, e.toString());
    } finally {
      io.unlock();
      channel.drop();
    }
  }

  @Override
  public String toString() {
    return "IscsiSession[" + address + "]";
  }
}
