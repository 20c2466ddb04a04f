package io.lencap.core;

import io.lencap.api.Encapsulation;
import io.lencap.api.Resource;
import io.lencap.spi.MemberRole;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Dependency levels of an encapsulation. A member depends on what it lists in {@code dependsOn} and,
 * implicitly, a writer depends on every storage member (roles as the providers state them): writers are
 * quiesced before the storage they write to and resumed after it; storage is restored before the writers.
 * Level 0 has no dependencies.
 */
final class Order {
  private final Map<String, Set<String>> dependencies = new HashMap<>();
  private final Map<String, Integer> level = new HashMap<>();
  private final TreeMap<Integer, List<String>> byLevel = new TreeMap<>();

  private final Set<String> storage;

  /** Levels with each member's role by its type: until the providers are known. */
  Order(Encapsulation encapsulation) {
    this(encapsulation, r -> MemberRole.byType(r.type()));
  }

  /** Levels with each member's role as {@code roles} says (its provider's). */
  Order(Encapsulation encapsulation, Function<Resource, MemberRole> roles) {
    List<Resource> all = encapsulation.resources();
    for (Resource r : all) {
      dependencies.put(r.id(), new LinkedHashSet<>(r.dependsOn()));
    }
    // Implicit edges VM -> storage, unless the storage explicitly depends on the VM (that would be a cycle).
    List<String> storage = all.stream().filter(r -> roles.apply(r) == MemberRole.STORAGE).map(Resource::id).toList();
    this.storage = Set.copyOf(storage);
    for (Resource r : all) {
      if (!this.storage.contains(r.id())) {
        for (String s : storage) {
          if (!reaches(s, r.id(), encapsulation)) {
            dependencies.get(r.id()).add(s);
          }
        }
      }
    }
    for (Resource r : all) {
      levelOf(r.id(), new LinkedHashSet<>());
    }
    level.forEach((id, l) -> byLevel.computeIfAbsent(l, k -> new ArrayList<>()).add(id));
  }

  /** Whether {@code from} depends on {@code to} through explicit dependencies. */
  private static boolean reaches(String from, String to, Encapsulation e) {
    Set<String> seen = new HashSet<>();
    ArrayDeque<String> todo = new ArrayDeque<>(List.of(from));
    while (!todo.isEmpty()) {
      String id = todo.pop();
      if (id.equals(to)) {
        return true;
      }
      if (seen.add(id)) {
        todo.addAll(e.resource(id).orElseThrow().dependsOn());
      }
    }
    return false;
  }

  private int levelOf(String id, Set<String> path) {
    Integer known = level.get(id);
    if (known != null) {
      return known;
    }
    if (!path.add(id)) {
      throw new IllegalStateException("dependency cycle through " + path);
    }
    int l = 0;
    for (String dep : dependencies.get(id)) {
      l = Math.max(l, levelOf(dep, path) + 1);
    }
    path.remove(id);
    level.put(id, l);
    return l;
  }

  /** Whether the member is storage (else a writer). */
  boolean isStorage(String id) {
    return storage.contains(id);
  }

  Set<String> dependencies(String id) {
    return dependencies.get(id);
  }

  /** Member ids by level, lowest (storage, dependencies) first. */
  List<List<String>> ascending() {
    return new ArrayList<>(byLevel.values());
  }

  /** Member ids by level, highest (writers) first. */
  List<List<String>> descending() {
    return new ArrayList<>(byLevel.descendingMap().values());
  }
}
