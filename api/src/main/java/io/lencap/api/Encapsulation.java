package io.lencap.api;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A named group of resources protected as one unit by a {@link ResiliencyPolicy}: captured at one
 * recovery line, restored together. Immutable; build it with {@link #builder(String)}.
 *
 * <pre>{@code
 * Encapsulation job = Encapsulation.builder("job-42")
 *     .resource(lun)
 *     .resource(vm)                      // vm.dependsOn("scratch") if it writes to the LUN
 *     .policy(ResiliencyPolicy.builder().pauseBudget(Duration.ofSeconds(2)).keepLast(3).build())
 *     .build();
 * }</pre>
 */
public final class Encapsulation {
  private final String name;
  private final Map<String, Resource> resources;
  private final ResiliencyPolicy policy;

  private Encapsulation(String name, Map<String, Resource> resources, ResiliencyPolicy policy) {
    this.name = name;
    this.resources = resources;
    this.policy = policy;
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  public Builder toBuilder() {
    Builder b = new Builder(name);
    resources.values().forEach(b::resource);
    b.policy = policy;
    return b;
  }

  /** Names the group in the store; checkpoints are listed per name. */
  public String name() {
    return name;
  }

  /** Members in declaration order. */
  public List<Resource> resources() {
    return List.copyOf(resources.values());
  }

  public Optional<Resource> resource(String id) {
    return Optional.ofNullable(resources.get(id));
  }

  public ResiliencyPolicy policy() {
    return policy;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Encapsulation e && name.equals(e.name) && resources.equals(e.resources)
        && policy.equals(e.policy);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + resources.hashCode();
  }

  @Override
  public String toString() {
    return "Encapsulation{name=" + name + ", resources=" + resources.values() + ", policy=" + policy + "}";
  }

  /** Collects the group; {@link #build()} checks ids, dependencies and cycles, naming the bad field. */
  public static final class Builder {
    private final String name;
    private final Map<String, Resource> resources = new LinkedHashMap<>();
    private @Nullable ResiliencyPolicy policy;

    private Builder(String name) {
      this.name = name;
    }

    public Builder resource(Resource resource) {
      Check.present("resources", resource);
      if (resources.putIfAbsent(resource.id(), resource) != null) {
        throw new InvalidSpecException("resources[" + resource.id() + "].id", "duplicate resource id '"
            + resource.id() + "'");
      }
      return this;
    }

    public Builder resources(Iterable<Resource> all) {
      all.forEach(this::resource);
      return this;
    }

    public Builder policy(ResiliencyPolicy policy) {
      Check.unset("policy", this.policy);
      this.policy = Check.present("policy", policy);
      return this;
    }

    public Encapsulation build() {
      Check.name("encapsulation.name", name);
      if (resources.isEmpty()) {
        throw new InvalidSpecException("resources", "an encapsulation needs at least one resource");
      }
      for (Resource r : resources.values()) {
        for (String dep : r.dependsOn()) {
          if (!resources.containsKey(dep)) {
            throw new InvalidSpecException("resources[" + r.id() + "].dependsOn", "unknown resource id '"
                + dep + "'; known: " + resources.keySet());
          }
        }
      }
      rejectCycles();
      return new Encapsulation(name, orderedCopy(), policy == null ? ResiliencyPolicy.defaults() : policy);
    }

    private Map<String, Resource> orderedCopy() {
      // Map.copyOf loses order; keep declaration order through an unmodifiable LinkedHashMap.
      return Collections.unmodifiableMap(new LinkedHashMap<>(resources));
    }

    private void rejectCycles() {
      Map<String, Integer> state = new HashMap<>(); // 1 = on the current path, 2 = done
      for (String start : resources.keySet()) {
        if (state.containsKey(start)) {
          continue;
        }
        Deque<Map.Entry<String, Iterator<String>>> stack = new ArrayDeque<>();
        List<String> path = new ArrayList<>();
        stack.push(Map.entry(start, resources.get(start).dependsOn().iterator()));
        state.put(start, 1);
        path.add(start);
        while (!stack.isEmpty()) {
          var top = stack.peek();
          if (top.getValue().hasNext()) {
            String next = top.getValue().next();
            Integer s = state.get(next);
            if (s == null) {
              state.put(next, 1);
              path.add(next);
              stack.push(Map.entry(next, Objects.requireNonNull(resources.get(next), next).dependsOn().iterator()));
            } else if (s == 1) {
              List<String> cycle = new ArrayList<>(path.subList(path.indexOf(next), path.size()));
              cycle.add(next);
              throw new InvalidSpecException("resources[" + top.getKey() + "].dependsOn",
                  "dependency cycle " + String.join(" -> ", cycle));
            }
          } else {
            state.put(top.getKey(), 2);
            path.remove(path.size() - 1);
            stack.pop();
          }
        }
      }
    }
  }
}
