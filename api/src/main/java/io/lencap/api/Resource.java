package io.lencap.api;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One member of an {@link Encapsulation}: a VM, a LUN or an export. Immutable; build it with
 * {@link #builder(String)}.
 *
 * <pre>{@code
 * Resource vm = Resource.builder("rank0").type(ResourceType.VIRTUAL_MACHINE)
 *     .locator("qemu:///system").property("domain", "rank0").build();
 * Resource lun = Resource.builder("scratch").type("block")
 *     .locator("iscsi://127.0.0.1:3260/iqn.2026-11.io.lencap:scratch/0")
 *     .secret("chap.secret", Secret.of(chapSecret)).property("chap.user", "lencap").build();
 * }</pre>
 *
 * <p>The locator says where the member lives, in the URL form its provider understands; properties
 * carry what the URL cannot (a domain name, a mount option); secrets are kept apart so that
 * {@link #toString()} and Lencap's logs never show them.
 */
public final class Resource {
  private final String id;
  private final ResourceType type;
  private final URI locator;
  private final Map<String, String> properties;
  private final Map<String, Secret> secrets;
  private final Set<String> dependsOn;

  private Resource(Builder b, ResourceType type, URI locator) {
    this.id = b.id;
    this.type = type;
    this.locator = locator;
    this.properties = Map.copyOf(b.properties);
    this.secrets = Map.copyOf(b.secrets);
    this.dependsOn = Set.copyOf(b.dependsOn);
  }

  public static Builder builder(String id) {
    return new Builder(id);
  }

  /** Shorthand for a resource with a type and a locator only. */
  public static Resource of(String id, ResourceType type, String locator) {
    return builder(id).type(type).locator(locator).build();
  }

  public Builder toBuilder() {
    Builder b = new Builder(id).type(type).locator(locator);
    b.properties.putAll(properties);
    b.secrets.putAll(secrets);
    b.dependsOn.addAll(dependsOn);
    return b;
  }

  /** Unique within its encapsulation. */
  public String id() {
    return id;
  }

  public ResourceType type() {
    return type;
  }

  public URI locator() {
    return locator;
  }

  public Map<String, String> properties() {
    return properties;
  }

  public Optional<String> property(String key) {
    return Optional.ofNullable(properties.get(key));
  }

  public Map<String, Secret> secrets() {
    return secrets;
  }

  public Optional<Secret> secret(String key) {
    return Optional.ofNullable(secrets.get(key));
  }

  /** Ids of members this one uses (a VM depends on the LUN it writes to). */
  public Set<String> dependsOn() {
    return dependsOn;
  }

  /** The locator with any user-info (which may hold a password) replaced by {@code ***}. */
  public String redactedLocator() {
    if (locator.getRawUserInfo() == null) {
      return locator.toString();
    }
    try {
      return new URI(locator.getScheme(), "***", locator.getHost(), locator.getPort(), locator.getPath(),
          locator.getQuery(), locator.getFragment()).toString();
    } catch (URISyntaxException e) {
      return locator.getScheme() + "://***";
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Resource r && id.equals(r.id) && type == r.type && locator.equals(r.locator)
        && properties.equals(r.properties) && secrets.equals(r.secrets) && dependsOn.equals(r.dependsOn);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, type, locator, properties, dependsOn);
  }

  @Override
  public String toString() {
    return "Resource{id=" + id + ", type=" + type.shortName() + ", locator=" + redactedLocator()
        + (properties.isEmpty() ? "" : ", properties=" + new TreeMap<>(properties))
        + (secrets.isEmpty() ? "" : ", secrets=" + new TreeMap<>(secrets).keySet())
        + (dependsOn.isEmpty() ? "" : ", dependsOn=" + dependsOn) + "}";
  }

  /** Collects a resource's fields; {@link #build()} validates them, naming the bad field. */
  public static final class Builder {
    private final String id;
    private @Nullable ResourceType type;
    private @Nullable URI locator;
    private final Map<String, String> properties = new TreeMap<>();
    private final Map<String, Secret> secrets = new TreeMap<>();
    private final Set<String> dependsOn = new LinkedHashSet<>();

    private Builder(String id) {
      this.id = id;
    }

    public Builder type(ResourceType type) {
      Check.unset(field("type"), this.type);
      this.type = Check.present(field("type"), type);
      return this;
    }

    /** A short name ({@code vm}, {@code block}, {@code tree}) or enum name; unknown names fail here. */
    public Builder type(String type) {
      return type(ResourceType.parse(field("type"), type));
    }

    public Builder locator(URI locator) {
      Check.unset(field("locator"), this.locator);
      this.locator = Check.present(field("locator"), locator);
      if (!locator.isAbsolute()) {
        throw new InvalidSpecException(field("locator"), "'" + locator + "' must be an absolute URI such as "
            + "qemu:///system, iscsi://host:3260/iqn/0 or nfs://host/export");
      }
      return this;
    }

    public Builder locator(String locator) {
      Check.present(field("locator"), locator);
      try {
        return locator(new URI(locator));
      } catch (URISyntaxException e) {
        throw new InvalidSpecException(field("locator"), "not a URI: " + e.getMessage());
      }
    }

    public Builder property(String key, String value) {
      String f = field("properties." + key);
      if (key == null || key.isBlank()) {
        throw new InvalidSpecException(field("properties"), "keys must not be blank");
      }
      Check.unset(f, properties.get(key));
      properties.put(key, Check.present(f, value));
      return this;
    }

    public Builder secret(String key, Secret value) {
      String f = field("secrets." + key);
      if (key == null || key.isBlank()) {
        throw new InvalidSpecException(field("secrets"), "keys must not be blank");
      }
      if (secrets.containsKey(key)) {
        throw new InvalidSpecException(f, "was already set");
      }
      secrets.put(key, Check.present(f, value));
      return this;
    }

    public Builder dependsOn(String... ids) {
      for (String dep : ids) {
        Check.name(field("dependsOn"), dep);
        if (!dependsOn.add(dep)) {
          throw new InvalidSpecException(field("dependsOn"), "'" + dep + "' listed twice");
        }
      }
      return this;
    }

    public Resource build() {
      Check.name("resource.id", id);
      ResourceType t = Check.present(field("type"), type);
      URI l = Check.present(field("locator"), locator);
      if (dependsOn.contains(id)) {
        throw new InvalidSpecException(field("dependsOn"), "a resource cannot depend on itself");
      }
      return new Resource(this, t, l);
    }

    private String field(String name) {
      return "resources[" + id + "]." + name;
    }
  }
}
