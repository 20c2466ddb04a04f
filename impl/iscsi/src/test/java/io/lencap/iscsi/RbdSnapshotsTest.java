package io.lencap.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lencap.spi.StorageSnapshot.Extent;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How {@link RbdSnapshots} reads {@code rbd diff --format json}: anything unexpected is "cannot tell". */
class RbdSnapshotsTest {
  @Test
  void readsRbdDiffJson() {
    assertEquals(Optional.of(List.of()), RbdSnapshots.extents("[]\n"));
    assertEquals(Optional.of(List.of(new Extent(4096, 512), new Extent(8388608, 4194304))),
        RbdSnapshots.extents("[{\"offset\":4096,\"length\":512,\"exists\":\"true\"},"
            + "{\"offset\":8388608,\"length\":4194304,\"exists\":\"false\"}]\n"));
  }

  @Test
  void anythingElseCannotTell() {
    for (String odd : List.of("", "[", "error", "[{\"offset\":1,\"length\":0,\"exists\":\"true\"}]",
        "[{\"offset\":1,\"length\":2,\"exists\":\"true\"}x]", "[{\"offset\":1,\"length\":2}]",
        "[{\"offset\":99999999999999999999,\"length\":2,\"exists\":\"true\"}]",
        "[{\"offset\":9223372036854775807,\"length\":2,\"exists\":\"true\"}]")) {
      assertEquals(Optional.empty(), RbdSnapshots.extents(odd), odd);
    }
  }
}
