package io.lencap.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The shared plumbing of captures and restores, driven by hand-completed futures: no threads, no time. */
class MemberCallsTest {
  private final Map<String, CompletableFuture<Void>> calls = new LinkedHashMap<>();

  private CompletableFuture<Void> call(String id) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    calls.put(id, f);
    return f;
  }

  @Test
  void lanesRunAtMostTheirNumberAtOnceAndTakeTheNextWhenOneIsDone() {
    CompletableFuture<Void> all = MemberCalls.inLanes(List.of("a", "b", "c", "d"), 2, () -> false, this::call);

    assertEquals(List.of("a", "b"), List.copyOf(calls.keySet()));
    calls.get("b").complete(null);
    assertEquals(List.of("a", "b", "c"), List.copyOf(calls.keySet()));
    calls.get("a").complete(null);
    calls.get("c").complete(null);
    assertFalse(all.isDone());
    calls.get("d").complete(null);
    assertTrue(all.isDone() && !all.isCompletedExceptionally());
  }

  @Test
  void lanesStopTakingMembersWhenTold() {
    boolean[] stop = {false};
    CompletableFuture<Void> all = MemberCalls.inLanes(List.of("a", "b", "c"), 1, () -> stop[0], this::call);
    stop[0] = true;
    calls.get("a").complete(null);

    assertEquals(List.of("a"), List.copyOf(calls.keySet()));
    assertTrue(all.isDone());
  }

  @Test
  void levelsRunOneAfterTheOtherAndAFailureStopsTheChain() {
    Map<String, String> members = Map.of("vm", "vm", "lun", "lun", "nfs", "nfs");
    CompletableFuture<Void> chain = MemberCalls.byLevels(List.of(List.of("lun", "nfs"), List.of("vm")), members,
        this::call);

    assertEquals(List.of("lun", "nfs"), List.copyOf(calls.keySet()));
    calls.get("lun").complete(null);
    calls.get("nfs").completeExceptionally(new IllegalStateException("nfs failed"));
    assertEquals(List.of("lun", "nfs"), List.copyOf(calls.keySet()), "the next level did not start");
    assertTrue(chain.isCompletedExceptionally());
  }

  @Test
  void undoLevelsTryEveryMemberWhateverTheOthersDid() {
    Map<String, String> members = Map.of("vm", "vm", "lun", "lun");
    List<String> tried = new ArrayList<>();
    CompletableFuture<Void> chain = MemberCalls.byLevelsQuietly(List.of(List.of("lun"), List.of("vm")), members,
        id -> {
          tried.add(id);
          return CompletableFuture.failedFuture(new IllegalStateException(id + " failed"));
        });

    assertEquals(List.of("lun", "vm"), tried);
    assertTrue(chain.isDone() && !chain.isCompletedExceptionally());
  }
}
