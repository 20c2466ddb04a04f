package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class FileAttrsTest {
  @Test
  void sameAsIgnoresAtimeOnly() {
    FileAttrs a = new FileAttrs(FileAttrs.Kind.FILE, 0644, 1, 2, 10, 99, 7, 1, 2, 3, 1);
    assertTrue(a.sameAs(new FileAttrs(FileAttrs.Kind.FILE, 0644, 1, 2, 10, 99, 7, 555, 2, 3, 1)));
    assertFalse(a.sameAs(new FileAttrs(FileAttrs.Kind.FILE, 0644, 1, 2, 10, 99, 7, 1, 2, 4, 1)), "ctime");
    assertFalse(a.sameAs(new FileAttrs(FileAttrs.Kind.FILE, 0600, 1, 2, 10, 99, 7, 1, 2, 3, 1)), "mode");
    assertFalse(a.sameAs(new FileAttrs(FileAttrs.Kind.FILE, 0644, 1, 2, 10, 98, 7, 1, 2, 3, 1)), "fileid");
    assertFalse(a.sameAs(null));
  }

  @Test
  void attributesRoundTripAndBadOnesNameTheKey() {
    FileAttrs a = new FileAttrs(FileAttrs.Kind.FILE, 04755, 1000, 100, 10, 99, 7, -5, 1_600_000_000_000_000_001L, 3, 1);
    Map<String, String> m = TreeAttributes.of(a);
    assertEquals("4755", m.get("mode"));
    TreeAttributes.Meta meta = TreeAttributes.meta(m, "", "f");
    assertEquals(new TreeAttributes.Meta(04755, 1000, 100, -5, 1_600_000_000_000_000_001L), meta);
    var e = assertThrows(IllegalArgumentException.class, () -> TreeAttributes.meta(Map.of("mode", "644"), "", "f"));
    assertEquals("f: attribute 'uid' is missing", e.getMessage());
  }
}
