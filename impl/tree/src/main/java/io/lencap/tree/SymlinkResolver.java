package io.lencap.tree;

import io.lencap.spi.EntryKind;
import io.lencap.spi.StoredEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Follows a checkpoint's symlinks as a Linux client would once the tree is restored, to tell a link that
 * leads out of the tree's root from one that stays inside or never resolves. Like the kernel it counts
 * every link followed in one resolution, nested or chained, and gives up past {@link #MAX_HOPS}
 * (MAXSYMLINKS): such a link, and a loop, resolves nowhere (ELOOP), so it is harmless data that restore
 * reproduces as a link. Each link's own resolution is memoised: following a link always resolves its
 * target from the link's own directory, whatever path led there, so the result and its hop count can be
 * reused, and chains of links cost linear time instead of exponential.
 */
final class SymlinkResolver {
  /** Links followed in one resolution before it fails with ELOOP, as Linux's MAXSYMLINKS. */
  static final int MAX_HOPS = 40;

  /** Where following a link ends. */
  enum Outcome {
    /** Inside the root (possibly at a name the checkpoint lacks). */
    INSIDE,
    /** Above the root: restoring it would hand out a path outside. */
    ESCAPES,
    /** A loop or a chain longer than {@link #MAX_HOPS}: resolves nowhere. */
    TOO_MANY_HOPS
  }

  /** One link followed: its outcome, its resolved path (names, when inside), the links followed for it. */
  private record Followed(Outcome outcome, List<String> path, int hops) {
    static final Followed LOOP = new Followed(Outcome.TOO_MANY_HOPS, List.of(), MAX_HOPS + 1);
  }

  private final Map<String, StoredEntry> byPath;
  private final Map<String, Followed> resolved = new HashMap<>();
  private final Set<String> resolving = new HashSet<>();
  private long steps;

  SymlinkResolver(Map<String, StoredEntry> byPath) {
    this.byPath = byPath;
  }

  /** Where following the symlink stored at {@code linkPath} ends. */
  Outcome follow(String linkPath) {
    return follow(linkPath, byPath.get(linkPath)).outcome();
  }

  /** Path components walked so far, over all calls: proof of the linear cost (tests read it). */
  long steps() {
    return steps;
  }

  private Followed follow(String linkPath, StoredEntry link) {
    Followed done = resolved.get(linkPath);
    if (done != null) {
      return done;
    }
    if (!resolving.add(linkPath)) {
      return Followed.LOOP; // following it needs following it: a cycle, never ends
    }
    String target = link.attributes().get(TreeAttributes.TARGET);
    Followed f = target == null || target.startsWith("/")
        ? new Followed(Outcome.ESCAPES, List.of(), 1)
        : walk(parentNames(linkPath), target, 1);
    resolving.remove(linkPath);
    resolved.put(linkPath, f);
    return f;
  }

  /** Walks {@code target} from the directory {@code dir} with {@code hops} links already followed. */
  private Followed walk(List<String> dir, String target, int hops) {
    List<String> at = new ArrayList<>(dir);
    for (String name : target.split("/")) {
      steps++;
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        if (at.isEmpty()) {
          return new Followed(Outcome.ESCAPES, List.of(), hops);
        }
        at.remove(at.size() - 1);
        continue;
      }
      at.add(name);
      String path = String.join("/", at);
      StoredEntry hop = byPath.get(path);
      if (hop == null || hop.kind() != EntryKind.SYMLINK) {
        continue; // a directory, a file or a name the checkpoint lacks: walked as a plain name
      }
      Followed next = follow(path, hop);
      int total = hops + next.hops();
      if (next.outcome() == Outcome.TOO_MANY_HOPS || total > MAX_HOPS) {
        return Followed.LOOP;
      }
      if (next.outcome() == Outcome.ESCAPES) {
        return new Followed(Outcome.ESCAPES, List.of(), total);
      }
      at = new ArrayList<>(next.path());
      hops = total;
    }
    return new Followed(Outcome.INSIDE, List.copyOf(at), hops);
  }

  private static List<String> parentNames(String path) {
    String[] names = path.split("/");
    return List.of(names).subList(0, names.length - 1);
  }
}
