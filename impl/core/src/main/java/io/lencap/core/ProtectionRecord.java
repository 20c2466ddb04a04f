package io.lencap.core;

import io.lencap.api.CaptureMode;
import io.lencap.api.Encapsulation;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import io.lencap.api.Resource;
import io.lencap.api.ResourceType;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A protected encapsulation as recorded in the store ({@code protections/NAME}), so that the next
 * process opening the store resumes its schedule and watch. Locators and properties, never secrets.
 */
record ProtectionRecord(String name, List<Member> members, Map<String, String> policy) {
  record Member(String id, ResourceType type, String locator, Map<String, String> properties, Set<String> dependsOn) {}

  static ProtectionRecord of(Encapsulation e) {
    ResiliencyPolicy p = e.policy();
    Map<String, String> policy = new TreeMap<>();
    policy.put("mode", p.mode().name());
    policy.put("pauseBudget", p.pauseBudget().toString());
    policy.put("pauseGrace", p.pauseGrace().toString());
    policy.put("phaseTimeout", p.phaseTimeout().toString());
    policy.put("keepLast", Integer.toString(p.keepLast()));
    policy.put("transferConcurrency", Integer.toString(p.transferConcurrency()));
    p.checkpointInterval().ifPresent(d -> policy.put("checkpointInterval", d.toString()));
    p.meanTimeBetweenFailures().ifPresent(d -> policy.put("meanTimeBetweenFailures", d.toString()));
    policy.put("onFailure", p.onFailure().name());
    policy.put("maxRestoreAttempts", Integer.toString(p.maxRestoreAttempts()));
    policy.put("restoreBackoff", p.restoreBackoff().toString());
    policy.put("probeInterval", p.probeInterval().toString());
    policy.put("failureConfirmation", p.failureConfirmation().toString());
    return new ProtectionRecord(e.name(), e.resources().stream().map(r -> new Member(r.id(), r.type(),
        r.locator().toString(), r.properties(), r.dependsOn())).toList(), policy);
  }

  Encapsulation toEncapsulation() {
    ResiliencyPolicy.Builder p = ResiliencyPolicy.builder()
        .mode(CaptureMode.valueOf(policy.get("mode")))
        .pauseBudget(Duration.parse(policy.get("pauseBudget")))
        .pauseGrace(Duration.parse(policy.get("pauseGrace")))
        .phaseTimeout(Duration.parse(policy.get("phaseTimeout")))
        .keepLast(Integer.parseInt(policy.get("keepLast")))
        .transferConcurrency(Integer.parseInt(policy.get("transferConcurrency")))
        .onFailure(Reaction.valueOf(policy.get("onFailure")))
        .maxRestoreAttempts(Integer.parseInt(policy.get("maxRestoreAttempts")))
        .restoreBackoff(Duration.parse(policy.get("restoreBackoff")))
        .probeInterval(Duration.parse(policy.get("probeInterval")))
        .failureConfirmation(Duration.parse(policy.get("failureConfirmation")));
    if (policy.containsKey("checkpointInterval")) {
      p.checkpointInterval(Duration.parse(policy.get("checkpointInterval")));
    }
    if (policy.containsKey("meanTimeBetweenFailures")) {
      p.meanTimeBetweenFailures(Duration.parse(policy.get("meanTimeBetweenFailures")));
    }
    Encapsulation.Builder b = Encapsulation.builder(name).policy(p.build());
    for (Member m : members) {
      Resource.Builder r = Resource.builder(m.id()).type(m.type()).locator(m.locator())
          .dependsOn(m.dependsOn().toArray(String[]::new));
      m.properties().forEach(r::property);
      b.resource(r.build());
    }
    return b.build();
  }
}
