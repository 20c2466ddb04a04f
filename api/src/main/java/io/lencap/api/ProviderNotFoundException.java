package io.lencap.api;

import java.util.Map;

/**
 * No provider on the class or module path supports a resource. The message lists every provider found
 * and why each declined: add the provider's artifact, or fix the resource's type or locator.
 */
public class ProviderNotFoundException extends LencapException {
  private static final long serialVersionUID = 1L;
  private final String resourceId;
  private final Map<String, String> declined;

  public ProviderNotFoundException(String resourceId, Map<String, String> declined) {
    super(describe(resourceId, declined));
    this.resourceId = resourceId;
    this.declined = Map.copyOf(declined);
  }

  public String resourceId() {
    return resourceId;
  }

  /** Provider name to the reason it gave for declining (or the error that kept it from loading). */
  public Map<String, String> declined() {
    return declined;
  }

  private static String describe(String resourceId, Map<String, String> declined) {
    if (declined.isEmpty()) {
      return "no resource provider found for resource '" + resourceId
          + "': none is installed; add a provider artifact such as lencap-libvirt, lencap-iscsi or lencap-nfs";
    }
    StringBuilder sb = new StringBuilder("no resource provider supports resource '")
        .append(resourceId).append("'; providers found:");
    declined.forEach((name, why) -> sb.append("\n  ").append(name).append(": ").append(why));
    return sb.toString();
  }
}
