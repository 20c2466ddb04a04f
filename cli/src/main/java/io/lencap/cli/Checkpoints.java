package io.lencap.cli;

import io.lencap.api.Checkpoint;
import io.lencap.api.Lencap;
import io.lencap.api.NotFoundException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds a checkpoint the user named: {@code ID} (looked up in every group), {@code GROUP/ID}, or
 * {@code GROUP/latest}. Checkpoint ids are unique in a store, so an id alone is enough.
 */
final class Checkpoints {
  private Checkpoints() {}

  /** A checkpoint and the other checkpoints of its group, oldest first. */
  record Found(Checkpoint checkpoint, List<Checkpoint> group) {
    /** Its ancestors, nearest first: those still in the store, then the first one that is not. */
    List<String> chain() {
      List<String> out = new ArrayList<>();
      Optional<String> parent = checkpoint.parent();
      while (parent.isPresent() && out.size() < 10_000) {
        String id = parent.get();
        Optional<Checkpoint> cp = group.stream().filter(c -> c.id().equals(id)).findFirst();
        out.add(cp.isPresent() ? id : id + " (deleted)");
        parent = cp.flatMap(Checkpoint::parent);
      }
      return out;
    }
  }

  static Found find(Lencap lencap, String ref) {
    int slash = ref.indexOf('/');
    List<String> groups = slash > 0 ? List.of(ref.substring(0, slash)) : lencap.encapsulations().join();
    String id = slash > 0 ? ref.substring(slash + 1) : ref;
    for (String g : groups) {
      List<Checkpoint> all = lencap.checkpoints(g).join();
      if (id.equals("latest") && !all.isEmpty()) {
        return new Found(all.get(all.size() - 1), all);
      }
      Optional<Checkpoint> cp = all.stream().filter(c -> c.id().equals(id)).findFirst();
      if (cp.isPresent()) {
        return new Found(cp.get(), all);
      }
    }
    throw new NotFoundException("no checkpoint '" + ref + "' in the store" + (slash > 0 ? "" : " (searched "
        + Shapes.count(groups.size(), "group") + ")"));
  }

  /** A checkpoint of a known group: an id, or {@code latest}. */
  static Checkpoint inGroup(Lencap lencap, String group, String id) {
    return find(lencap, group + "/" + id).checkpoint();
  }
}
