package io.lencap.tree;

import io.lencap.spi.ChunkRef;
import io.lencap.spi.Chunking;
import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import io.lencap.spi.StoredState;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a stored tree before a restore writes anything: the manifest is untrusted input (a store is
 * shared, a checkpoint may be crafted). Refused: empty, absolute or non-normal paths, names {@code .},
 * {@code ..} or with NUL, names not in canonical stored form ({@link StoredNames}), duplicate paths, an entry whose parent is not a directory of the checkpoint
 * (which could make us write through a symlink), absolute symlink targets and relative ones that leave the
 * root once resolved through the checkpoint's other symlinks, chunks that do not tile their file or are
 * longer than {@link Chunking#MAX_CHUNK}, and
 * metadata that does not parse. A symlink that never resolves (a loop, or more links than a kernel follows)
 * is not refused: restore writes links as links and never through one, so it is harmless data.
 *
 * <p>A second name of a hard-linked file ({@code link}) must have no content and name a file entry of the
 * checkpoint that holds content itself.
 *
 * <p>The same check runs before a capture commits (the drivers' {@code validate}), so that no checkpoint is
 * committed that its restore would refuse.
 */
public final class ManifestCheck {
  private static final int MAX_NAME_BYTES = 255;
  private static final int MAX_PATH_BYTES = 4096;

  /** A checked tree: entries parents-first, by path. */
  public record Plan(List<StoredEntry> entries, Map<String, StoredEntry> byPath, TreeAttributes.Meta root) {}

  private ManifestCheck() {}

  public static Plan check(StoredState state, String memberId) {
    String cp = state.checkpointId();
    List<StoredEntry> entries = state.entries();
    Map<String, StoredEntry> byPath = new HashMap<>();
    for (StoredEntry e : entries) {
      String path = e.path();
      checkPath(cp, memberId, path);
      if (byPath.put(path, e) != null) {
        throw refuse(cp, memberId, "entry '" + printable(path) + "' appears twice");
      }
    }
    SymlinkResolver links = new SymlinkResolver(byPath);
    List<Ordered> ordered = new ArrayList<>(entries.size());
    for (StoredEntry e : entries) {
      int slash = e.path().lastIndexOf('/');
      if (slash > 0) {
        StoredEntry parent = byPath.get(e.path().substring(0, slash));
        if (parent == null || parent.kind() != EntryKind.DIRECTORY) {
          throw refuse(cp, memberId, entry(e.path()) + ": its parent '" + printable(e.path().substring(0, slash))
              + "' is not a directory of the checkpoint");
        }
      }
      try {
        TreeAttributes.meta(e.attributes(), "", "");
      } catch (IllegalArgumentException bad) {
        throw refuse(cp, memberId, entry(e.path()) + bad.getMessage());
      }
      switch (e.kind()) {
        case FILE -> {
          checkChunks(cp, memberId, e);
          checkHardLink(cp, memberId, e, byPath);
        }
        case SYMLINK -> checkLink(cp, memberId, e, links);
        case DIRECTORY -> {
          if (!e.chunks().isEmpty()) {
            throw refuse(cp, memberId, entry(e.path()) + ": a directory has content");
          }
        }
        default -> throw refuse(cp, memberId, entry(e.path()) + ": unknown kind " + e.kind());
      }
      ordered.add(new Ordered(depth(e.path()), e));
    }
    TreeAttributes.Meta root;
    try {
      root = TreeAttributes.meta(state.attributes(), TreeAttributes.ROOT, "the tree's root");
    } catch (IllegalArgumentException bad) {
      throw refuse(cp, memberId, bad.getMessage());
    }
    // Each entry's depth once, not at every comparison: a tree of 20,000 entries spent a third of its check sorting.
    ordered.sort(Comparator.comparingInt(Ordered::depth).thenComparing(o -> o.entry().path()));
    return new Plan(ordered.stream().map(Ordered::entry).toList(), Collections.unmodifiableMap(byPath), root);
  }

  private record Ordered(int depth, StoredEntry entry) {}

  static int depth(String path) {
    int d = 1;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == '/') {
        d++;
      }
    }
    return d;
  }

  private static void checkPath(String cp, String member, String path) {
    if (path == null || path.isEmpty()) {
      throw refuse(cp, member, "an entry has an empty path");
    }
    if (path.startsWith("/")) {
      throw refuse(cp, member, entry(path) + ": absolute paths are not allowed");
    }
    if (path.indexOf('\0') >= 0) {
      throw refuse(cp, member, entry(path) + ": NUL in a name");
    }
    for (String name : path.split("/", -1)) {
      byte[] bytes;
      try {
        bytes = StoredNames.bytes(name);
      } catch (CharacterCodingException e) {
        throw refuse(cp, member, entry(path) + ": a name is not in canonical stored form (see StoredNames): it "
            + "could alias another name");
      }
      if (name.isEmpty()) {
        throw refuse(cp, member, entry(path) + ": empty name (a '/' too many)");
      }
      if (name.equals(".") || name.equals("..")) {
        throw refuse(cp, member, entry(path) + ": name '" + name + "' would leave or alias its directory");
      }
      if (bytes.length > MAX_NAME_BYTES) {
        throw refuse(cp, member, entry(path) + ": a name is longer than " + MAX_NAME_BYTES + " bytes");
      }
    }
    if (StoredNames.bytesOf(path).length > MAX_PATH_BYTES) {
      throw refuse(cp, member, entry(path) + ": path longer than " + MAX_PATH_BYTES + " bytes");
    }
  }

  /** How a message names an entry; made only for a refusal (the check runs on every entry of every capture). */
  private static String entry(String path) {
    return "entry '" + printable(path) + "'";
  }

  private static void checkChunks(String cp, String member, StoredEntry e) {
    long at = 0;
    for (ChunkRef c : e.chunks()) {
      if (c.length() > Chunking.MAX_CHUNK) {
        // restore sizes its buffers from this length: refuse it before anything is allocated or written
        throw refuse(cp, member, entry(e.path()) + ": chunk " + c.id() + " at offset " + c.offset() + " claims "
            + c.length() + " bytes, more than the format's largest chunk (" + Chunking.MAX_CHUNK + ")");
      }
      if (c.offset() != at || c.length() <= 0) {
        throw refuse(cp, member, entry(e.path()) + ": chunk " + c.id() + " at offset " + c.offset()
            + " does not follow the previous chunk (expected offset " + at + ")");
      }
      at += c.length();
    }
    if (at != e.size()) {
      throw refuse(cp, member, entry(e.path()) + ": chunks cover " + at + " bytes but the entry says " + e.size());
    }
  }

  private static void checkHardLink(String cp, String member, StoredEntry e, Map<String, StoredEntry> byPath) {
    String primary = e.attributes().get(TreeAttributes.LINK);
    if (primary == null) {
      return;
    }
    if (e.size() != 0) {
      throw refuse(cp, member, entry(e.path()) + ": a hard link has content of its own");
    }
    StoredEntry p = byPath.get(primary);
    if (p == null || p.kind() != EntryKind.FILE || p.attributes().containsKey(TreeAttributes.LINK)) {
      throw refuse(cp, member, entry(e.path()) + ": hard link to '" + printable(primary)
          + "', which is not a file of the checkpoint that holds content");
    }
  }

  private static void checkLink(String cp, String member, StoredEntry e, SymlinkResolver links) {
    String target = e.attributes().get(TreeAttributes.TARGET);
    if (target == null || target.isEmpty()) {
      throw refuse(cp, member, entry(e.path()) + ": a symlink without a target");
    }
    if (target.indexOf('\0') >= 0) {
      throw refuse(cp, member, entry(e.path()) + ": NUL in the symlink target");
    }
    if (!StoredNames.canonical(target)) {
      throw refuse(cp, member, entry(e.path()) + ": the symlink target is not in canonical stored form (see StoredNames)");
    }
    if (target.startsWith("/")) {
      throw refuse(cp, member, entry(e.path()) + ": absolute symlink target '" + printable(target)
          + "' would point outside the tree's root");
    }
    if (!e.chunks().isEmpty()) {
      throw refuse(cp, member, entry(e.path()) + ": a symlink has content");
    }
    if (links.follow(e.path()) == SymlinkResolver.Outcome.ESCAPES) {
      throw refuse(cp, member, entry(e.path()) + ": symlink target '" + printable(target) + "' leads outside the tree's root");
    }
  }

  private static String printable(String s) {
    return StoredNames.printable(s);
  }

  private static UnsafeManifestException refuse(String cp, String member, String problem) {
    return new UnsafeManifestException(cp, member, problem);
  }
}
