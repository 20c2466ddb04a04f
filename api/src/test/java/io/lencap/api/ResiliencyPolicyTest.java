package io.lencap.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Policies are values: equal exactly when every setting is. */
class ResiliencyPolicyTest {
  @Test
  void policiesWithTheSameSettingsAreEqual() {
    ResiliencyPolicy a = ResiliencyPolicy.builder().pauseBudget(Duration.ofSeconds(60)).keepLast(3).build();
    ResiliencyPolicy b = ResiliencyPolicy.builder().pauseBudget(Duration.ofMinutes(1)).keepLast(3).build();

    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertEquals(ResiliencyPolicy.defaults(), ResiliencyPolicy.builder().build());
  }

  @Test
  void eachSettingTakesPartInEquality() {
    List<UnaryOperator<ResiliencyPolicy.Builder>> changes = List.of(
        b -> b.mode(CaptureMode.BLOCKING),
        b -> b.pauseBudget(Duration.ofSeconds(31)),
        b -> b.pauseGrace(Duration.ofSeconds(6)),
        b -> b.phaseTimeout(Duration.ofMinutes(11)),
        b -> b.keepLast(1),
        b -> b.retention(Retention.builder().keepDaily(7).build()),
        b -> b.retention(Retention.builder().zone(java.time.ZoneId.of("Europe/Paris")).build()),
        b -> b.transferConcurrency(5),
        b -> b.checkpointInterval(Duration.ofMinutes(5)),
        b -> b.meanTimeBetweenFailures(Duration.ofHours(5)),
        b -> b.onFailure(Reaction.RESTORE_IN_PLACE),
        b -> b.maxRestoreAttempts(4),
        b -> b.restoreBackoff(Duration.ofSeconds(6)),
        b -> b.probeInterval(Duration.ofSeconds(6)),
        b -> b.failureConfirmation(Duration.ofSeconds(4)));
    for (UnaryOperator<ResiliencyPolicy.Builder> change : changes) {
      ResiliencyPolicy changed = change.apply(ResiliencyPolicy.builder()).build();
      assertNotEquals(ResiliencyPolicy.defaults(), changed, changed.toString());
      assertEquals(changed, change.apply(ResiliencyPolicy.builder()).build(), changed.toString());
    }
  }

  @Test
  void keepLastIsShortForARetentionRule() {
    ResiliencyPolicy p = ResiliencyPolicy.builder().keepLast(3).build();
    assertEquals(Retention.builder().keepLast(3).build(), p.retention());
    assertEquals(3, p.keepLast());
    ResiliencyPolicy daily = ResiliencyPolicy.builder().retention(Retention.builder().keepDaily(7).build()).build();
    ResiliencyPolicy both = daily.toBuilder().keepLast(2).build();
    assertEquals(Retention.builder().keepLast(2).keepDaily(7).build(), both.retention());
    assertEquals(Retention.keepAll(), ResiliencyPolicy.defaults().retention());
  }

  @Test
  void aPolicyIsNotEqualToItsDescription() {
    assertNotEquals(ResiliencyPolicy.defaults(), (Object) ResiliencyPolicy.defaults().toString());
  }
}
