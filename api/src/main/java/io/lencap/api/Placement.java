package io.lencap.api;

import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Where a restore puts each member. Members not named stay where they were captured (in place);
 * a named member gets a new locator and extra properties: another libvirt connection or domain name,
 * another LUN, another export. That is migration.
 *
 * <pre>{@code
 * Placement elsewhere = Placement.builder()
 *     .move("rank0", URI.create("qemu+ssh://node7/system"), Map.of("domain", "rank0"))
 *     .build();
 * }</pre>
 */
public final class Placement {
  private static final Placement IN_PLACE = new Placement(Map.of());

  private final Map<String, Target> targets;

  private Placement(Map<String, Target> targets) {
    this.targets = Map.copyOf(targets);
  }

  /** Every member back where it was captured. */
  public static Placement inPlace() {
    return IN_PLACE;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Members that move, by id. */
  public Map<String, Target> targets() {
    return targets;
  }

  /**
   * The resource a member is restored onto: the captured resource with this placement's locator and
   * properties for it, its dependencies kept, or the resource itself when it stays in place.
   */
  public Resource apply(Resource captured) {
    Target t = targets.get(captured.id());
    if (t == null) {
      return captured;
    }
    Resource.Builder b = Resource.builder(captured.id()).type(captured.type()).locator(t.locator())
        .dependsOn(captured.dependsOn().toArray(String[]::new));
    Map<String, String> props = new TreeMap<>(captured.properties());
    props.putAll(t.properties());
    props.forEach(b::property);
    Map<String, Secret> secrets = new TreeMap<>(captured.secrets());
    secrets.putAll(t.secrets());
    secrets.forEach(b::secret);
    return b.build();
  }

  public Optional<Target> target(String memberId) {
    return Optional.ofNullable(targets.get(memberId));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Placement p && targets.equals(p.targets);
  }

  @Override
  public int hashCode() {
    return targets.hashCode();
  }

  @Override
  public String toString() {
    return targets.isEmpty() ? "Placement{in place}" : "Placement" + new TreeMap<>(targets);
  }

  /**
   * Where one member goes: a locator, and properties and secrets that override the captured ones. Secrets
   * print redacted.
   */
  public record Target(URI locator, Map<String, String> properties, Map<String, Secret> secrets) {
    public Target {
      properties = Map.copyOf(properties);
      secrets = Map.copyOf(secrets);
    }
  }

  /** Collects targets; each member may be placed once. */
  public static final class Builder {
    private final Map<String, Target> targets = new TreeMap<>();

    private Builder() {}

    public Builder move(String memberId, URI locator) {
      return move(memberId, locator, Map.of());
    }

    public Builder move(String memberId, URI locator, Map<String, String> properties) {
      return move(memberId, locator, properties, Map.of());
    }

    /**
     * Moves a member with properties and secrets of its own there (another LUN's CHAP credentials, for
     * example); they override the captured ones.
     */
    public Builder move(String memberId, URI locator, Map<String, String> properties, Map<String, Secret> secrets) {
      String field = "placement[" + memberId + "]";
      Check.name("placement.memberId", memberId);
      Check.present(field + ".locator", locator);
      Check.present(field + ".properties", properties);
      Check.present(field + ".secrets", secrets);
      if (!locator.isAbsolute()) {
        throw new InvalidSpecException(field + ".locator", "'" + locator + "' must be an absolute URI");
      }
      if (targets.containsKey(memberId)) {
        throw new InvalidSpecException(field, "member placed twice");
      }
      targets.put(memberId, new Target(locator, properties, secrets));
      return this;
    }

    public Placement build() {
      return targets.isEmpty() ? IN_PLACE : new Placement(targets);
    }
  }
}
