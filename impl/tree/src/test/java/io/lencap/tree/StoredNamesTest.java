package io.lencap.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The stored form of names: exact, reversible, never colliding with a valid UTF-8 name. */
class StoredNamesTest {
  @Test
  void validUtf8IsStoredAsItself() throws Exception {
    for (String name : new String[] {"plain.txt", "caf\u00e9", "\u6587\u4ef6", "emoji-\uD83D\uDE00", "a\\xe9"}) {
      assertEquals(name, StoredNames.of(name.getBytes(StandardCharsets.UTF_8)));
      assertArrayEquals(name.getBytes(StandardCharsets.UTF_8), StoredNames.bytes(name));
    }
  }

  @Test
  void latin1NamesRoundTripAndDoNotCollide() throws Exception {
    byte[] a = {'l', 'a', 't', 'i', 'n', '1', '-', (byte) 0xe9, (byte) 0xff, '.', 'b', 'i', 'n'};
    byte[] b = {'l', 'a', 't', 'i', 'n', '1', '-', (byte) 0xe8, (byte) 0xff, '.', 'b', 'i', 'n'};
    String sa = StoredNames.of(a);
    String sb = StoredNames.of(b);
    assertNotEquals(sa, sb, "what UTF-8 decoding turns into the same replacement string");
    assertNotEquals("latin1-\uFFFD\uFFFD.bin", sa);
    assertArrayEquals(a, StoredNames.bytes(sa));
    assertArrayEquals(b, StoredNames.bytes(sb));
    assertEquals("latin1-\\xe9\\xff.bin", StoredNames.printable(sa));
  }

  @Test
  void everyByteStringRoundTrips() throws Exception {
    Random r = new Random(15);
    Map<String, String> bytesByStored = new HashMap<>();
    for (int i = 0; i < 20_000; i++) {
      byte[] name = new byte[1 + r.nextInt(12)];
      r.nextBytes(name);
      String stored = StoredNames.of(name);
      assertArrayEquals(name, StoredNames.bytes(stored));
      assertTrue(StoredNames.canonical(stored));
      String asLatin1 = new String(name, StandardCharsets.ISO_8859_1);
      String before = bytesByStored.putIfAbsent(stored, asLatin1);
      assertTrue(before == null || before.equals(asLatin1), "two byte strings stored alike: " + stored);
    }
  }

  @Test
  void nonCanonicalNamesAreRefused() {
    // escapes of bytes that form valid UTF-8 would alias "é"; other lone surrogates mean nothing
    assertFalse(StoredNames.canonical("\uDCC3\uDCA9"));
    assertThrows(CharacterCodingException.class, () -> StoredNames.bytes("\uDCC3\uDCA9"));
    assertFalse(StoredNames.canonical("x\uDC41"));
    assertFalse(StoredNames.canonical("x\uD800"));
    assertTrue(StoredNames.canonical("\uDCE9"));
  }
}
