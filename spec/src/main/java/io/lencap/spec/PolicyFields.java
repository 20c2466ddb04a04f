package io.lencap.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.lencap.api.CaptureMode;
import io.lencap.api.InvalidSpecException;
import io.lencap.api.Reaction;
import io.lencap.api.ResiliencyPolicy;
import java.util.List;
import java.util.Map;

/** The {@code policy:} mapping of a spec: one field per {@link ResiliencyPolicy.Builder} setter. */
final class PolicyFields {
  private static final List<String> KNOWN = List.of("mode", "pauseBudget", "pauseGrace", "phaseTimeout", "keepLast",
      "transferConcurrency", "checkpointInterval", "meanTimeBetweenFailures", "onFailure", "maxRestoreAttempts",
      "restoreBackoff", "probeInterval", "failureConfirmation");

  private PolicyFields() {}

  static ResiliencyPolicy read(JsonNode node) {
    if (!node.isObject()) {
      throw new InvalidSpecException("policy", "must be a mapping such as {pauseBudget: 2s, keepLast: 3}, was "
          + SpecValues.kind(node));
    }
    SpecReader.onlyKnown("policy.", node, KNOWN);
    ResiliencyPolicy.Builder b = ResiliencyPolicy.builder();
    for (Map.Entry<String, JsonNode> e : SpecValues.entries("policy", node).entrySet()) {
      String path = "policy." + e.getKey();
      JsonNode v = e.getValue();
      SpecValues.at(path, () -> set(b, e.getKey(), path, v));
    }
    return b.build(); // its errors name policy.<field> already
  }

  private static void set(ResiliencyPolicy.Builder b, String key, String path, JsonNode v) {
    switch (key) {
      case "mode" -> b.mode(SpecValues.choice(path, v, CaptureMode.class));
      case "pauseBudget" -> b.pauseBudget(SpecValues.duration(path, v));
      case "pauseGrace" -> b.pauseGrace(SpecValues.duration(path, v));
      case "phaseTimeout" -> b.phaseTimeout(SpecValues.duration(path, v));
      case "keepLast" -> b.keepLast(SpecValues.integer(path, v));
      case "transferConcurrency" -> b.transferConcurrency(SpecValues.integer(path, v));
      case "checkpointInterval" -> b.checkpointInterval(SpecValues.duration(path, v));
      case "meanTimeBetweenFailures" -> b.meanTimeBetweenFailures(SpecValues.duration(path, v));
      case "onFailure" -> b.onFailure(SpecValues.choice(path, v, Reaction.class));
      case "maxRestoreAttempts" -> b.maxRestoreAttempts(SpecValues.integer(path, v));
      case "restoreBackoff" -> b.restoreBackoff(SpecValues.duration(path, v));
      case "probeInterval" -> b.probeInterval(SpecValues.duration(path, v));
      case "failureConfirmation" -> b.failureConfirmation(SpecValues.duration(path, v));
      default -> throw new InvalidSpecException(path, "unknown field; known: " + String.join(", ", KNOWN));
    }
  }
}
