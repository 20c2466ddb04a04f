package io.lencap.tree;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * How a file name's bytes are carried in a stored path (a Java {@code String}), exactly and reversibly.
 *
 * <p>The rule (the same as Python's "surrogateescape", PEP 383): bytes that form valid UTF-8 are decoded as
 * UTF-8; every other byte {@code b} (always 0x80..0xFF: ASCII is valid UTF-8) becomes the lone surrogate
 * {@code U+DC00 + b}. Decoding valid UTF-8 never yields a lone surrogate, so an escaped name can never
 * collide with a real one, and names that are valid UTF-8 are stored exactly as before. A stored name is
 * <em>canonical</em> when escaping its bytes gives it back; anything else (another lone surrogate, or escapes
 * of bytes that form valid UTF-8, which would alias a real name) is refused by the manifest check. Both tree
 * providers (NFS and local directories) store names so.
 */
public final class StoredNames {
  private static final int ESCAPE_BASE = 0xDC00;

  private StoredNames() {}

  /** The stored form of a name (or symlink target) given as bytes. */
  public static String of(byte[] bytes) {
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer out = CharBuffer.allocate(bytes.length);
    while (true) {
      CoderResult r = utf8.decode(in, out, true);
      if (r.isUnderflow()) {
        utf8.flush(out);
        break;
      }
      if (r.isError()) { // escape the offending bytes one by one and go on after them
        for (int i = 0; i < r.length(); i++) {
          out.put((char) (ESCAPE_BASE + (in.get() & 0xFF)));
        }
      } else {
        throw new IllegalStateException(r.toString()); // overflow cannot happen: one char per byte at most
      }
    }
    return out.flip().toString();
  }

  /**
   * The bytes of a stored name; throws {@link CharacterCodingException} when the name is not canonical
   * (see the class comment), so that two stored names never map to the same bytes.
   */
  public static byte[] bytes(String stored) throws CharacterCodingException {
    if (ascii(stored)) {
      return stored.getBytes(StandardCharsets.US_ASCII); // its own UTF-8, no escapes: canonical (most names)
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(stored.length() + 8);
    int i = 0;
    while (i < stored.length()) {
      char c = stored.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < stored.length() && Character.isLowSurrogate(stored.charAt(i + 1))) {
        out.writeBytes(stored.substring(i, i + 2).getBytes(StandardCharsets.UTF_8));
        i += 2;
      } else if (c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xFF) {
        out.write(c - ESCAPE_BASE);
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new CharacterCodingException();
      } else {
        out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
        i++;
      }
    }
    byte[] bytes = out.toByteArray();
    if (!of(bytes).equals(stored)) {
      throw new CharacterCodingException(); // escapes of valid UTF-8 would alias the real name
    }
    return bytes;
  }

  private static boolean ascii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /** Whether a stored name is canonical. */
  public static boolean canonical(String stored) {
    try {
      bytes(stored);
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  /** The bytes of a name this process produced (always canonical). */
  public static byte[] bytesOf(String stored) {
    try {
      return bytes(stored);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("not a canonical stored name: " + printable(stored));
    }
  }

  /** A stored name as a message shows it: escaped bytes as {@code \xNN}, control characters as {@code \\uNNNN}. */
  public static String printable(String stored) {
    StringBuilder sb = new StringBuilder(stored.length());
    for (int i = 0; i < stored.length(); i++) {
      char c = stored.charAt(i);
      if (c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xFF) {
        sb.append(String.format("\\x%02x", c - ESCAPE_BASE));
      } else if (Character.isISOControl(c) || Character.isSurrogate(c)
          && !(Character.isHighSurrogate(c) && i + 1 < stored.length() && Character.isLowSurrogate(stored.charAt(i + 1)))
          && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(stored.charAt(i - 1)))) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
