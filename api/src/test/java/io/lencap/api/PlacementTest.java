package io.lencap.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.net.URI;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a placement makes of a captured member. */
class PlacementTest {
  private final Resource rank = Resource.builder("rank0").type(ResourceType.VIRTUAL_MACHINE)
      .locator("qemu:///system").property("domain", "rank0").property("keep", "yes")
      .secret("graphics.password", Secret.of("s3cret")).dependsOn("scratch", "home").build();

  @Test
  void aMovedMemberKeepsItsDependencies() {
    Resource moved = Placement.builder().move("rank0", URI.create("qemu+ssh://node7/system"),
        Map.of("domain", "rank0b")).build().apply(rank);

    assertEquals(Set.of("scratch", "home"), moved.dependsOn());
    assertEquals(URI.create("qemu+ssh://node7/system"), moved.locator());
    assertEquals(Map.of("domain", "rank0b", "keep", "yes"), moved.properties());
    assertEquals(rank.secrets(), moved.secrets());
    assertEquals(rank.type(), moved.type());
  }

  @Test
  void aMemberPlacedWhereItWasIsTheSameResource() {
    Resource same = Placement.builder().move("rank0", rank.locator()).build().apply(rank);

    assertEquals(rank, same);
  }

  @Test
  void aMemberNotNamedStaysInPlace() {
    assertSame(rank, Placement.builder().move("other", URI.create("qemu:///system")).build().apply(rank));
  }
}
