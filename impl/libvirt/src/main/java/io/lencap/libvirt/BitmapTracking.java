package io.lencap.libvirt;

import io.lencap.api.InvalidSpecException;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.EntryWriter;
import io.lencap.spi.IncrementalCopy;
import io.lencap.spi.StorageSnapshot.Extent;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Changed-block tracking of a snapshot cut's qcow2 disks. Each capture leaves a libvirt checkpoint
 * ({@code lencap-TAG}, a persistent dirty bitmap per disk) made in its prepare, before the group is quiesced, so
 * the bitmap marks at least every write since the cut; the next capture reads, from the disk's frozen base after its
 * own cut, only the granules that bitmap marks (the image's clusters, 64 KiB by default) and takes the rest from the
 * parent's chunks: a 256 KiB block left clean is the parent's chunk, a block marked in part is the parent's chunk
 * with the marked granules read over it. Scattered 4 KiB writes, one per block, so cost a granule's read each, not a
 * block's. The disk is stored as the guest sees it (its virtual bytes, attribute {@code view=guest}), where bitmap
 * offsets mean something.
 *
 * <p>The bitmap is used only when it provably covers the interval since the parent: the parent records the
 * checkpoint's name, the disk file is the same file (device and inode: a restore writes a new one), QEMU has run
 * without a restart since (the domain id), libvirt still knows the checkpoint, the bitmap is in the frozen image,
 * stored consistently and recording, and the parent's copy has the same size in whole blocks. Otherwise the disk is
 * read whole and the member's notes say why. A bitmap may mark more than changed (a checkpoint made before the cut,
 * bitmaps merged when older checkpoints are deleted): that costs reads, never correctness. A parent's chunk is read
 * from the store verified; one that fails is not patched, the block is read whole.
 */
final class BitmapTracking {
  /** The member property choosing it: {@code bitmap} (the default) or {@code none}. */
  static final String PROPERTY = "tracking";
  static final String CHECKPOINT = "cbt.checkpoint";
  static final String DOMAIN_ID = "cbt.domain.id";
  static final String DISK = "cbt.disk.";
  /** Bytes of a disk this capture read from its image (the rest came from the parent's chunks). */
  static final String READ = "cbt.read.";
  static final String VIEW = "view";
  static final String GUEST = "guest";
  private static final int BLOCK = Chunking.DEFAULT_BLOCK_SIZE;

  private final MemberDomain domain;
  private final PreparedDomain prepared;
  /** The disks tracked, each with why it is read whole, or empty when its parent's bitmap may be used. */
  private final Map<String, Optional<String>> disks;
  private final Optional<String> since;
  private final String domainId;
  private volatile String created;

  private BitmapTracking(MemberDomain domain, PreparedDomain prepared, Map<String, Optional<String>> disks,
      Optional<String> since, String domainId) {
    this.domain = domain;
    this.prepared = prepared;
    this.disks = disks;
    this.since = since;
    this.domainId = domainId;
  }

  /** Whether the member asks for tracking ({@link #PROPERTY}); fails naming the field on any other value. */
  static boolean enabled(MemberDomain domain) {
    String mode = domain.resource().property(PROPERTY).orElse("bitmap");
    if (!mode.equals("bitmap") && !mode.equals("none")) {
      throw new InvalidSpecException("resources[" + domain.member() + "].properties." + PROPERTY, "'" + mode
          + "' is neither 'bitmap' (changed-block tracking) nor 'none' (every capture reads each disk whole)");
    }
    return mode.equals("bitmap");
  }

  /**
   * Decides, in prepare, which disks are tracked and whether their parent's bitmap may be used; deletes the
   * checkpoints of earlier captures that no parent needs (an uncommitted capture's, a parent's parent's).
   */
  static BitmapTracking plan(MemberDomain domain, PreparedDomain prepared, CaptureContext ctx) throws IOException {
    String domainId = Integer.toString(domain.call("reading its id", () -> domain.lookup().getID()));
    Checkpoints checkpoints = checkpoints(domain, prepared);
    Optional<StoredState> parent = ctx.parent();
    Optional<String> since = parent.flatMap(p -> Optional.ofNullable(p.attributes().get(CHECKPOINT)));
    String whyNot = null;
    if (parent.isEmpty()) {
      whyNot = "no parent checkpoint";
    } else if (since.isEmpty()) {
      whyNot = "the parent checkpoint left no dirty bitmap";
    } else if (!domainId.equals(parent.get().attributes().get(DOMAIN_ID))) {
      whyNot = "the domain was restarted or restored since the parent (QEMU's bitmaps may have missed writes)";
    } else if (!checkpoints.exists(since.get())) {
      whyNot = "libvirt no longer knows the parent's checkpoint " + since.get();
    }
    Map<String, Optional<String>> disks = new LinkedHashMap<>();
    for (DomainXml.Disk d : prepared.capturedDisks()) {
      if (!d.type().equals("file") || !d.format().orElse("raw").equals("qcow2")) {
        ctx.note("disk " + d.dev() + " (" + d.format().orElse("raw") + "): read and hashed whole, as every capture "
            + "does: only qcow2 images hold the persistent dirty bitmaps of changed-block tracking");
        continue;
      }
      String reason = whyNot;
      if (reason == null) {
        reason = diskProblem(parent.get(), d).orElse(null);
      }
      disks.put(d.dev(), Optional.ofNullable(reason));
    }
    for (String name : checkpoints.names()) {
      if (name.startsWith(Checkpoints.PREFIX) && !(whyNot == null && since.get().equals(name))) {
        checkpoints.delete(name);
      }
    }
    return new BitmapTracking(domain, prepared, disks, whyNot == null ? since : Optional.empty(), domainId);
  }

  private static Optional<String> diskProblem(StoredState parent, DomainXml.Disk d) throws IOException {
    String identity = fileIdentity(d.source().orElseThrow());
    if (!identity.equals(parent.attributes().get(DISK + d.dev()))) {
      return Optional.of("its image is not the file the parent read (replaced by a restore, moved or copied)");
    }
    Optional<StoredEntry> e = parent.entry(DomainDriver.DISKS + d.dev());
    if (e.isEmpty() || !GUEST.equals(e.get().attributes().get(VIEW))) {
      return Optional.of("the parent did not store it as the guest sees it");
    }
    if (!IncrementalCopy.inWholeBlocks(e.get(), BLOCK)) {
      return Optional.of("the parent's copy is not in whole " + BLOCK + "-byte blocks");
    }
    return Optional.empty();
  }

  /** The device and inode of a file: a restore writes a new file, a merge writes into the same one. */
  static String fileIdentity(Path file) throws IOException {
    Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino");
    return a.get("dev") + ":" + a.get("ino");
  }

  private static Checkpoints checkpoints(MemberDomain domain, PreparedDomain prepared) {
    return new Checkpoints(domain.connection(), prepared.uuid(), domain.member(), domain.where());
  }

  boolean tracks(String dev) {
    return disks.containsKey(dev);
  }

  /**
   * Called in prepare, before the group is quiesced: the checkpoint whose bitmaps the next capture reads. Made before
   * the cut, its bitmaps also mark what the guest writes until the cut (read again next time, never missed), and the
   * libvirt call stays out of the window in which the other members wait. When libvirt refuses it, this capture still stores the disks as the guest
   * sees them and the next reads them whole.
   */
  void begin(String tag, CaptureContext ctx) {
    if (disks.isEmpty()) {
      return;
    }
    String name = Checkpoints.name(tag);
    try {
      checkpoints(domain, prepared).create(name, prepared.disks().stream().map(DomainXml.Disk::dev).toList(),
          disks.keySet());
      created = name;
    } catch (RuntimeException e) {
      ctx.note("no checkpoint for changed-block tracking (" + e.getMessage() + "): the next capture reads "
          + String.join(", ", disks.keySet()) + " whole");
    }
  }

  /** Stores a tracked disk from its frozen image; returns the bytes read from it. */
  long capture(DomainXml.Disk d, String entry, Map<String, String> attributes, CaptureContext ctx, Runnable check)
      throws IOException {
    Path image = d.source().orElseThrow();
    Optional<String> reason = disks.get(d.dev());
    Optional<String> bitmap = reason.isEmpty() ? since : Optional.empty();
    if (bitmap.isPresent()) {
      Optional<String> problem = QemuImg.bitmapProblem(image, bitmap.get());
      if (problem.isPresent()) {
        reason = problem;
        bitmap = Optional.empty();
      }
    }
    Map<String, String> attrs = new TreeMap<>(attributes);
    attrs.put(VIEW, GUEST);
    Path dir = Files.createTempDirectory("lencap-nbd");
    String what = domain.where() + ": reading disk " + d.dev() + " (" + image + ")";
    // Without a bitmap the whole disk is read, except what the image says reads as zeros (unallocated clusters).
    Optional<String> context = Optional.of(bitmap.map(b -> "qemu:dirty-bitmap:" + b).orElse(Libnbd.ALLOCATION));
    try (QemuNbd server = QemuNbd.serve(image, bitmap, dir.resolve("s"), what);
        NbdExport export = NbdExport.unix(server.socket(), context, what)) {
      long size = export.size();
      Optional<StoredEntry> parent = Optional.empty();
      if (bitmap.isPresent()) {
        StoredEntry p = ctx.parent().orElseThrow().entry(entry).orElseThrow();
        if (p.size() != size) {
          reason = Optional.of("its virtual size changed from " + p.size() + " to " + size + " bytes");
        } else {
          parent = Optional.of(p);
        }
      }
      List<Extent> dirty = new ArrayList<>();
      if (parent.isPresent()) {
        for (long[] r : export.flagged(0, size, Libnbd.DIRTY)) {
          dirty.add(new Extent(r[0], r[1] - r[0]));
        }
      }
      BitSet zero = new BitSet();
      if (bitmap.isEmpty()) {
        for (long[] r : export.flagged(0, size, Libnbd.ZERO)) {
          int first = (int) ((r[0] + BLOCK - 1) / BLOCK);
          int end = (int) (r[1] == size ? (size + BLOCK - 1) / BLOCK : r[1] / BLOCK); // only whole blocks
          if (first < end) {
            zero.set(first, end);
          }
        }
      }
      Copied copied = copy(export, size, new Parent(ctx.parent(), parent, dirty), zero, entry, attrs, ctx, check);
      long read = copied.read();
      if (copied.unverified() > 0) {
        ctx.note("disk " + d.dev() + ": " + copied.unverified() + " of the parent's chunks failed verification: their "
            + "blocks were read whole");
      }
      ctx.state().attribute(READ + d.dev(), Long.toString(read));
      ctx.note(parent.isEmpty()
          ? "disk " + d.dev() + ": read whole (" + size + " bytes) as the guest sees it"
              + (read < size ? " but for " + (size - read) + " bytes of unallocated or zero clusters" : "") + ": "
              + reason.orElse("?")
          : String.format("disk %s: read %d of %d bytes (%.2f%%), the granules dirty bitmap %s marks; the rest is "
              + "the parent's", d.dev(), read, size, size == 0 ? 0.0 : 100.0 * read / size, bitmap.get()));
      return read;
    } finally {
      Files.deleteIfExists(dir.resolve("s"));
      Files.deleteIfExists(dir);
    }
  }

  /**
   * What a tracked copy takes from the parent: its state, its copy of the entry (empty when the disk is read whole)
   * and the ranges the bitmap marks since, in order.
   */
  record Parent(Optional<StoredState> state, Optional<StoredEntry> entry, List<Extent> dirty) {
    static final Parent NONE = new Parent(Optional.empty(), Optional.empty(), List.of());
  }

  /** The bytes a copy read from the image, and how many of the parent's chunks it could not patch (corrupt). */
  record Copied(long read, int unverified) {}

  /**
   * Copies the export into a new entry in blocks: from the parent's copy and the marked ranges when there is a parent
   * ({@link IncrementalCopy}); otherwise whole, but for the blocks in {@code zero}, which are zeros without a read.
   */
  static Copied copy(NbdExport export, long size, Parent parent, BitSet zero, String entry, Map<String, String> attrs,
      CaptureContext ctx, Runnable check) throws IOException {
    EntryWriter out = ctx.state().create(entry, EntryKind.FILE, attrs, Chunking.blocks());
    boolean written = false;
    try {
      ByteBuffer buf = ByteBuffer.allocateDirect(BLOCK);
      Copied copied;
      if (parent.entry().isPresent()) {
        try (IncrementalCopy copy = new IncrementalCopy(out, parent.state().orElseThrow(), parent.entry().get(), BLOCK,
            parent.dirty(), (offset, dst) -> {
              ctx.checkCancelled();
              check.run();
              export.read(buf.clear().limit(dst.remaining()), offset);
              dst.put(buf.flip());
            })) {
          copy.readFromSource();
          copied = new Copied(copy.read(), copy.unverified());
        }
      } else {
        long read = 0;
        int i = 0;
        for (long off = 0; off < size; off += BLOCK, i++) {
          ctx.checkCancelled();
          check.run();
          int length = (int) Math.min(BLOCK, size - off);
          if (zero.get(i)) {
            out.zeros(length);
            continue;
          }
          export.read(buf.clear().limit(length), off);
          read += length;
          out.write(buf.flip());
        }
        copied = new Copied(read, 0);
      }
      written = true;
      return copied;
    } finally {
      if (written) {
        out.close();
      } else {
        try {
          out.close();
        } catch (IOException | RuntimeException ignored) {
          // the copy already failed and is propagating
        }
      }
    }
  }

  /** The member attributes the next capture proves its bitmap against. */
  void record(CaptureContext ctx) throws IOException {
    String name = created;
    if (name == null) {
      return;
    }
    ctx.state().attribute(CHECKPOINT, name);
    ctx.state().attribute(DOMAIN_ID, domainId);
    for (DomainXml.Disk d : prepared.capturedDisks()) {
      if (disks.containsKey(d.dev())) {
        ctx.state().attribute(DISK + d.dev(), fileIdentity(d.source().orElseThrow()));
      }
    }
  }
}
