package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PauseBudgetTest {
  private final FakeTime time = new FakeTime();
  private final PauseBudget budget = new PauseBudget(Duration.ofSeconds(2), Duration.ofMillis(500), time, time);

  @Test
  void allOfTheBudgetIsLeftBeforeTheFirstQuiesce() {
    time.advance(Duration.ofSeconds(10));
    assertEquals(Duration.ofSeconds(2), budget.remaining());
  }

  @Test
  void theBudgetRunsFromTheFirstQuiesceNotFromLaterOnes() {
    budget.start(() -> { });
    time.advance(Duration.ofMillis(700));
    budget.start(() -> { }); // a member of a later level
    time.advance(Duration.ofMillis(300));

    assertEquals(Duration.ofSeconds(1), budget.remaining());
    assertEquals(1, time.pending(), "one budget alarm, not one per quiesce");
  }

  @Test
  void aSpentBudgetLeavesAMillisecondSoThatACallFailsOnItsOwnLimit() {
    budget.start(() -> { });
    time.advance(Duration.ofSeconds(5));
    assertEquals(Duration.ofMillis(1), budget.remaining());
  }

  @Test
  void theCaptureIsToldOnceWhenTheBudgetHasPassed() {
    AtomicInteger told = new AtomicInteger();
    budget.start(told::incrementAndGet);
    budget.start(told::incrementAndGet);

    time.advance(Duration.ofMillis(1999));
    assertEquals(0, told.get());
    time.advance(Duration.ofMillis(1));
    assertEquals(1, told.get());
    time.advance(Duration.ofSeconds(10));
    assertEquals(1, told.get());
  }

  @Test
  void theWatchdogResumesAMemberStillPausedAtBudgetPlusGrace() {
    AtomicInteger resumes = new AtomicInteger();
    budget.watch(() -> false, resumes::incrementAndGet);

    time.advance(Duration.ofMillis(2499));
    assertEquals(0, resumes.get());
    time.advance(Duration.ofMillis(1));
    assertEquals(1, resumes.get());
  }

  @Test
  void theWatchdogLeavesAResumedMemberAlone() {
    AtomicBoolean resumed = new AtomicBoolean();
    AtomicInteger resumes = new AtomicInteger();
    budget.watch(resumed::get, resumes::incrementAndGet);

    time.advance(Duration.ofSeconds(1));
    resumed.set(true);
    time.advance(Duration.ofSeconds(5));
    assertEquals(0, resumes.get());
  }

  @Test
  void eachMembersWatchdogRunsFromItsOwnQuiesce() {
    AtomicInteger first = new AtomicInteger();
    AtomicInteger second = new AtomicInteger();
    budget.watch(() -> false, first::incrementAndGet);
    time.advance(Duration.ofSeconds(1));
    budget.watch(() -> false, second::incrementAndGet);

    time.advance(Duration.ofMillis(1500));
    assertEquals(1, first.get());
    assertEquals(0, second.get());
    time.advance(Duration.ofSeconds(1));
    assertEquals(1, second.get());
  }

  @Test
  void itsMessageNamesTheBudget() {
    assertTrue(budget.exceeded().contains("PT2S"), budget.exceeded());
  }
}
