package io.lencap.iscsi;

import io.lencap.api.InvalidSpecException;
import io.lencap.api.Resource;
import io.lencap.spi.CaptureContext;
import io.lencap.spi.IncrementalCopy;
import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StorageSnapshot.Extent;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Changed-block tracking of a LUN through its storage's snapshot diff ({@link StorageSnapshot#changed}). A capture
 * whose cut is a storage snapshot keeps that image after it commits instead of deleting it; the next capture asks
 * the storage what changed between that image and its own and reads only those ranges, in whole blocks of the LUN:
 * the rest comes from the parent checkpoint's chunks ({@link IncrementalCopy}). Once the next capture commits, the
 * older image is deleted.
 *
 * <p>The diff is used only when it provably covers the interval since the parent's cut: the parent records the
 * image it read ({@link #KEPT}), which is the parent's own cut (named after the parent's id), the LUN has the same
 * locator, size and block size, the parent's copy is in whole chunks of this capture's size, and the storage still
 * answers for that image. Otherwise the LUN is read whole and the member's notes say why. The storage may report
 * more than changed, never less: that costs reads, never correctness.
 */
final class LunTracking {
  /** The member property choosing it: {@code diff} (the default) or {@code none}. */
  static final String PROPERTY = "tracking";
  /** The storage image this capture read and kept for the next capture's diff. */
  static final String KEPT = "lun.snapshot";
  /**
   * The parent's kept image, which this capture's commit makes unnecessary: recorded so that the capture after
   * deletes it too when this one's release never ran (its process died after the commit).
   */
  static final String PREVIOUS = "lun.snapshot.previous";
  static final String LOCATOR = "lun.locator";
  /** Bytes this capture read from the LUN or its image (the rest came from the parent's chunks). */
  static final String READ = "lun.read";

  private LunTracking() {}

  /** Whether the member asks for tracking ({@link #PROPERTY}); fails naming the field on any other value. */
  static boolean enabled(Resource resource) {
    String mode = resource.property(PROPERTY).orElse("diff");
    if (!mode.equals("diff") && !mode.equals("none")) {
      throw new InvalidSpecException("resources[" + resource.id() + "].properties." + PROPERTY, "'" + mode
          + "' is neither 'diff' (read what the storage's snapshot diff reports changed) nor 'none' (read the LUN "
          + "whole and keep no snapshot between captures)");
    }
    return mode.equals("diff");
  }

  /**
   * What a capture from image {@code name} reads.
   *
   * @param parent the parent's copy of the LUN, in whole chunks; empty when the LUN is read whole
   * @param changed the ranges to read when {@code parent} is present, in whole blocks of the LUN, ascending and apart
   * @param why what the member's notes say of it
   */
  record Plan(Optional<StoredEntry> parent, List<Extent> changed, String why) {
    boolean whole() {
      return parent.isEmpty();
    }

    static Plan whole(String reason) {
      return new Plan(Optional.empty(), List.of(), reason);
    }
  }

  /** Decides, after the cut, whether the storage's diff since the parent's image may be used. */
  static Plan plan(CaptureContext ctx, StorageSnapshot snapshots, LunSpec spec, String name, long size,
      int blockSize) {
    Optional<StoredState> parent = ctx.parent();
    if (parent.isEmpty()) {
      return Plan.whole("no parent checkpoint");
    }
    Map<String, String> attributes = parent.get().attributes();
    String base = attributes.get(KEPT);
    if (base == null) {
      return Plan.whole("the parent checkpoint kept no storage snapshot to compare with");
    }
    if (!base.equals(StorageSnapshot.imageName(parent.get().checkpointId()))) {
      return Plan.whole("the parent's snapshot " + base + " is not the parent's own cut");
    }
    String locator = spec.address().toUri().toString();
    if (!locator.equals(attributes.get(LOCATOR))) {
      return Plan.whole("the parent read another LUN (" + attributes.get(LOCATOR) + ")");
    }
    if (!Long.toString(size).equals(attributes.get(LunDriver.ATTR_BYTES))
        || !Integer.toString(blockSize).equals(attributes.get(LunDriver.ATTR_BLOCK_SIZE))) {
      return Plan.whole("the LUN's size or block size changed since the parent (" + attributes.get(LunDriver.ATTR_BYTES)
          + " bytes in blocks of " + attributes.get(LunDriver.ATTR_BLOCK_SIZE) + ")");
    }
    int chunk = spec.chunkSize();
    Optional<StoredEntry> entry = parent.get().entry(LunDriver.ENTRY);
    if (entry.isEmpty() || entry.get().size() != size || !IncrementalCopy.inWholeBlocks(entry.get(), chunk)) {
      return Plan.whole("the parent's copy is not in whole " + chunk + "-byte chunks of the same LUN");
    }
    Optional<List<Extent>> changed;
    try {
      changed = snapshots.changed(ctx.resource(), base, name);
    } catch (Exception e) {
      return Plan.whole("asking the storage what changed since snapshot " + base + " failed: " + e.getMessage());
    }
    if (changed.isEmpty()) {
      return Plan.whole("the storage cannot tell what changed since snapshot " + base
          + " (deleted, its image replaced, or no diff)");
    }
    List<Extent> ranges = new ArrayList<>(); // rounded out to whole blocks: a READ reads nothing less
    long after = 0;
    for (Extent e : changed.get()) {
      if (e.end() > size || e.offset() < after) {
        return Plan.whole("the storage reported a change at " + e + ", " + (e.end() > size ? "beyond the LUN's "
            + size + " bytes" : "before the end of the previous one (" + after + ")"));
      }
      after = e.end();
      long start = e.offset() / blockSize * blockSize;
      long end = Math.min(size, (e.end() + blockSize - 1) / blockSize * blockSize);
      Extent last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
      if (last != null && start <= last.end()) { // two changes in one block, or next to each other
        ranges.set(ranges.size() - 1, new Extent(last.offset(), end - last.offset()));
      } else {
        ranges.add(new Extent(start, end - start));
      }
    }
    return new Plan(entry, ranges, "the ranges " + base + ".." + name + " changed");
  }

  /**
   * The images a committed capture no longer needs: the parent's kept one and what the parent meant to delete. These
   * names come from the store and decide deletes, so only names a driver gives are taken: the parent's kept image
   * must be the one named after the parent's own id, and the other must have the form of a driver's name.
   */
  static Set<String> previous(Optional<StoredState> parent) {
    Set<String> names = new TreeSet<>();
    parent.ifPresent(p -> {
      Optional.ofNullable(p.attributes().get(KEPT))
          .filter(StorageSnapshot.imageName(p.checkpointId())::equals)
          .ifPresent(names::add);
      Optional.ofNullable(p.attributes().get(PREVIOUS))
          .filter(n -> KeptImages.NAME.matcher(n).matches())
          .ifPresent(names::add);
    });
    return names;
  }
}
