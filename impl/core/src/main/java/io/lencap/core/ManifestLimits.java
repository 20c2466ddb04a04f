package io.lencap.core;

import io.lencap.api.LencapException;
import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.StoredEntry;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a manifest read from the store must satisfy before anything sizes a buffer or opens a path from it:
 * chunk ids are content addresses, chunk lengths within the format's maximum, chunks of an entry one after
 * the other and within its size. The store may be written by someone else.
 */
final class ManifestLimits {
  private static final Pattern CHUNK_ID = Pattern.compile("[0-9a-f]{64}");
  /** What an encoding adds to a chunk's bytes at most (its header, a seal's nonce and tag), with room to spare. */
  private static final int PACK_SLACK = 1024;

  private ManifestLimits() {}

  static void check(String key, Manifest m) {
    if (m == null || m.id() == null || m.encapsulation() == null || m.members() == null || m.mode() == null) {
      throw refused(key, "it lacks its id, encapsulation, mode or members");
    }
    for (Manifest.Member member : m.members()) {
      if (member == null || member.id() == null || member.type() == null || member.entries() == null
          || member.notes() == null || member.attributes() == null) {
        throw refused(key, "a member lacks its id, type, entries, notes or attributes");
      }
      java.util.Set<String> named = new java.util.HashSet<>();
      member.entries().forEach(e -> {
        if (e != null && e.chunks() != null) {
          e.chunks().forEach(c -> named.add(c == null ? "" : String.valueOf(c.id())));
        }
      });
      for (Map.Entry<String, String> d : member.deltas().entrySet()) {
        if (d.getKey() == null || d.getValue() == null || !CHUNK_ID.matcher(d.getValue()).matches()
            || !named.contains(d.getKey())) {
          throw refused(key, "member " + member.id() + " names a delta of a chunk it does not name, or on a base"
              + " that is not a content address");
        }
      }
      named.addAll(member.deltas().values()); // a delta's base may be in a pack (format 4)
      for (Map.Entry<String, java.util.List<Manifest.Packed>> p : member.packs().entrySet()) {
        if (p.getKey() == null || !CHUNK_ID.matcher(p.getKey()).matches() || p.getValue() == null) {
          throw refused(key, "member " + member.id() + " names a pack that is not a content address");
        }
        for (Manifest.Packed c : p.getValue()) {
          if (c != null && c.base() != null && !c.base().equals(member.deltas().get(c.id()))) {
            throw refused(key, "member " + member.id() + " places a delta of chunk " + c.id() + " in pack "
                + p.getKey() + " on another base than its deltas name");
          }
          if (c == null || !named.contains(c.id()) || c.offset() < 0 || c.size() <= 0
              || c.size() > Chunking.MAX_CHUNK + PACK_SLACK || c.offset() > Integer.MAX_VALUE - c.size()) {
            throw refused(key, "member " + member.id() + " places a chunk it does not name (nor apply a delta to) in pack " + p.getKey()
                + ", or outside 0 to 2 GiB, or with an impossible size");
          }
        }
      }
      for (StoredEntry e : member.entries()) {
        if (e == null || e.path() == null || e.kind() == null || e.size() < 0 || e.chunks() == null) {
          throw refused(key, "member " + member.id() + " has an entry without path, kind or size");
        }
        long next = 0;
        for (ChunkRef c : e.chunks()) {
          if (c == null || c.id() == null || !CHUNK_ID.matcher(c.id()).matches()) {
            throw refused(key, "entry " + e.path() + " of member " + member.id() + " names a chunk that is not a"
                + " content address");
          }
          if (c.length() <= 0 || c.length() > Chunking.MAX_CHUNK || c.offset() != next) {
            throw refused(key, "entry " + e.path() + " of member " + member.id() + " has a chunk of " + c.length()
                + " bytes at " + c.offset() + " (chunks follow each other and hold 1 to " + Chunking.MAX_CHUNK
                + " bytes)");
          }
          next += c.length();
        }
        if (next > e.size()) {
          throw refused(key, "entry " + e.path() + " of member " + member.id() + " has chunks of " + next
              + " bytes for a size of " + e.size());
        }
      }
    }
  }

  private static LencapException refused(String key, String why) {
    return new LencapException("checkpoint " + key + " is refused: " + why);
  }
}
