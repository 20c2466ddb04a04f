package io.lencap.spi.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.StorageSnapshot;
import io.lencap.spi.StorageSnapshot.Extent;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The TCK of {@link StorageSnapshot#changed} for block resources, on top of the {@link StorageSnapshotContract}
 * every implementation passes: what a provider relies on when it reads only what changed between two images. An
 * implementation that records changes extends this class instead, with a way to write the resource at an offset.
 */
public abstract class SnapshotChangesContract extends StorageSnapshotContract {

  /** Writes {@code data} onto the resource (not an image) at byte {@code offset}, through the storage's front. */
  protected abstract void write(long offset, byte[] data) throws Exception;

  /** The resource's size in bytes; at least 4 MiB, so that the writes below fall in different storage objects. */
  protected abstract long size() throws Exception;

  @Test
  void itSaysItTellsChanges() {
    assertTrue(snapshots().tellsChanges(resource()));
  }

  /** Every byte written between the takes is in a reported range, ranges are ordered and within the resource. */
  @Test
  void everyWriteBetweenTwoImagesIsReported() throws Exception {
    long size = size();
    List<Extent> written = List.of(new Extent(0, 4096), new Extent(size / 3 / 4096 * 4096, 4096),
        new Extent(size / 2 / 4096 * 4096, 200 << 10), new Extent(size - 4096, 4096));
    snapshots().take(resource(), "tck-base");
    try {
      Random random = new Random(7);
      for (Extent e : written) {
        byte[] data = new byte[(int) e.length()];
        random.nextBytes(data);
        write(e.offset(), data);
      }
      snapshots().take(resource(), "tck-next");
      try {
        List<Extent> changed = snapshots().changed(resource(), "tck-base", "tck-next").orElseThrow(
            () -> new AssertionError("an implementation that records changes answers for two images it took"));
        long end = 0;
        for (Extent e : changed) {
          assertTrue(e.offset() >= end, "ranges in ascending order, not overlapping: " + changed);
          end = e.end();
        }
        assertTrue(end <= size, "ranges within the resource: " + changed);
        for (Extent w : written) {
          assertTrue(covered(changed, w), "write " + w + " reported in " + changed);
        }
      } finally {
        snapshots().delete(resource(), "tck-next");
      }
    } finally {
      snapshots().delete(resource(), "tck-base");
    }
  }

  /** Two images with no write between them: nothing, or only over-reported ranges; never an error. */
  @Test
  void noWriteBetweenTwoImagesReportsAtMostSomeRanges() throws Exception {
    snapshots().take(resource(), "tck-same-a");
    try {
      snapshots().take(resource(), "tck-same-b");
      try {
        Optional<List<Extent>> changed = snapshots().changed(resource(), "tck-same-a", "tck-same-b");
        assertTrue(changed.isPresent(), "an implementation that records changes answers for two images it took");
        long bytes = changed.get().stream().mapToLong(Extent::length).sum();
        assertTrue(bytes <= size(), "no more than the resource: " + changed.get());
      } finally {
        snapshots().delete(resource(), "tck-same-b");
      }
    } finally {
      snapshots().delete(resource(), "tck-same-a");
    }
  }

  /** A base that was never taken, or was deleted, cannot anchor a diff: "cannot tell", not an empty list. */
  @Test
  void anUnknownOrDeletedBaseCannotTell() throws Exception {
    snapshots().take(resource(), "tck-gone");
    snapshots().take(resource(), "tck-now");
    try {
      snapshots().delete(resource(), "tck-gone");
      assertEquals(Optional.empty(), snapshots().changed(resource(), "tck-gone", "tck-now"), "deleted base");
      assertEquals(Optional.empty(), snapshots().changed(resource(), "tck-never-taken", "tck-now"), "unknown base");
      assertEquals(Optional.empty(), snapshots().changed(resource(), "tck-now", "tck-never-taken"), "unknown image");
    } finally {
      snapshots().delete(resource(), "tck-now");
    }
  }

  /** A base newer than the image is no interval the provider could have copied: "cannot tell". */
  @Test
  void aBaseNewerThanTheImageCannotTell() throws Exception {
    snapshots().take(resource(), "tck-older");
    try {
      write(0, new byte[4096]);
      snapshots().take(resource(), "tck-newer");
      try {
        assertEquals(Optional.empty(), snapshots().changed(resource(), "tck-newer", "tck-older"));
      } finally {
        snapshots().delete(resource(), "tck-newer");
      }
    } finally {
      snapshots().delete(resource(), "tck-older");
    }
  }

  private static boolean covered(List<Extent> ranges, Extent w) {
    long at = w.offset();
    for (Extent r : ranges) {
      if (r.offset() <= at && at < r.end()) {
        at = r.end();
      }
      if (at >= w.end()) {
        return true;
      }
    }
    return false;
  }
}
