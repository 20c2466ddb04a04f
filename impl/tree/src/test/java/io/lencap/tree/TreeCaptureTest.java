package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which files of the parent checkpoint a capture takes without reading them. */
class TreeCaptureTest {
  private static final FileAttrs CAPTURED = new FileAttrs(FileAttrs.Kind.FILE, 0644, 0, 0, 10, 99, 7, 1, 2_000, 3_000, 1);

  @Test
  void aFileIsUnchangedOnlyWithItsFileIdSizeMtimeAndCtime() {
    StoredEntry parent = new StoredEntry("f", EntryKind.FILE, 10, TreeAttributes.of(CAPTURED),
        List.of(new ChunkRef("c", 0, 10)));
    assertTrue(TreeCapture.unchangedSince(parent, CAPTURED));
    assertTrue(TreeCapture.unchangedSince(parent, with(CAPTURED, 10, 99, 2_000, 3_000, 5)), "atime is not a change");
    assertFalse(TreeCapture.unchangedSince(parent, with(CAPTURED, 10, 99, 2_000, 3_001, 1)),
        "a same-size rewrite with its old mtime put back (cp -p, touch -r) moves the ctime");
    assertFalse(TreeCapture.unchangedSince(parent, with(CAPTURED, 10, 99, 2_001, 3_000, 1)), "mtime");
    assertFalse(TreeCapture.unchangedSince(parent, with(CAPTURED, 11, 99, 2_000, 3_000, 1)), "size");
    assertFalse(TreeCapture.unchangedSince(parent, with(CAPTURED, 10, 98, 2_000, 3_000, 1)), "another file");
  }

  private static FileAttrs with(FileAttrs a, long size, long fileid, long mtime, long ctime, long atime) {
    return new FileAttrs(a.kind(), a.mode(), a.uid(), a.gid(), size, fileid, a.fsid(), atime, mtime, ctime,
        a.nlink());
  }
}
