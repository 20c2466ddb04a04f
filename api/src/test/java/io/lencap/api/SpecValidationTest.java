package io.lencap.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Invalid specs fail at build() with a message naming the field. */
class SpecValidationTest {
  static InvalidSpecException fails(String field, Executable build) {
    InvalidSpecException e = assertThrows(InvalidSpecException.class, build);
    assertEquals(field, e.field(), e.getMessage());
    assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    return e;
  }

  static Resource vm(String id, String... deps) {
    return Resource.builder(id).type(ResourceType.VIRTUAL_MACHINE).locator("qemu:///system")
        .property("domain", id).dependsOn(deps).build();
  }

  @Test
  void duplicateIds() {
    fails("resources[a].id", () -> Encapsulation.builder("g").resource(vm("a")).resource(vm("a")));
  }

  @Test
  void dependencyCycles() {
    InvalidSpecException e = fails("resources[c].dependsOn",
        () -> Encapsulation.builder("g").resource(vm("a", "b")).resource(vm("b", "c")).resource(vm("c", "a")).build());
    assertTrue(e.getMessage().contains("a -> b -> c -> a"), e.getMessage());
    fails("resources[a].dependsOn", () -> vm("a", "a"));
  }

  @Test
  void unknownDependency() {
    fails("resources[a].dependsOn", () -> Encapsulation.builder("g").resource(vm("a", "ghost")).build());
  }

  @Test
  void unknownResourceTypes() {
    InvalidSpecException e = fails("resources[x].type", () -> Resource.builder("x").type("mainframe"));
    assertTrue(e.getMessage().contains("vm, block, tree"), e.getMessage());
    assertEquals(ResourceType.BLOCK_VOLUME, Resource.builder("x").type("block").locator("iscsi://h/iqn/0").build().type());
  }

  @Test
  void negativeAndZeroDurations() {
    fails("policy.pauseBudget", () -> ResiliencyPolicy.builder().pauseBudget(Duration.ofSeconds(-1)));
    fails("policy.pauseGrace", () -> ResiliencyPolicy.builder().pauseGrace(Duration.ZERO));
    fails("policy.phaseTimeout", () -> ResiliencyPolicy.builder().phaseTimeout(Duration.ofMillis(-5)));
    fails("policy.keepLast", () -> ResiliencyPolicy.builder().keepLast(-1));
    fails("retention.keepLast", () -> Retention.builder().keepLast(-1));
    fails("retention.keepHourly", () -> Retention.builder().keepHourly(-1));
    fails("retention.keepDaily", () -> Retention.builder().keepDaily(-2));
    fails("retention.keepWeekly", () -> Retention.builder().keepWeekly(-1));
    fails("retention.keepMonthly", () -> Retention.builder().keepMonthly(-1));
    fails("retention.keepYearly", () -> Retention.builder().keepYearly(Integer.MIN_VALUE));
    fails("retention.keepDaily", () -> Retention.builder().keepDaily(1).keepDaily(2));
    fails("policy.keepLast", () -> ResiliencyPolicy.builder().keepLast(2)
        .retention(Retention.builder().keepDaily(7).build()).build());
    fails("policy.retention", () -> ResiliencyPolicy.builder().retention(Retention.keepAll())
        .retention(Retention.keepAll()));
    fails("policy.transferConcurrency", () -> ResiliencyPolicy.builder().transferConcurrency(0));
  }

  @Test
  void emptyGroups() {
    fails("resources", () -> Encapsulation.builder("g").build());
  }

  @Test
  void badNamesAndMissingFields() {
    fails("encapsulation.name", () -> Encapsulation.builder("../etc").resource(vm("a")).build());
    fails("resource.id", () -> Resource.builder("has space").type("vm").locator("qemu:///system").build());
    fails("resources[a].locator", () -> Resource.builder("a").type("vm").build());
    fails("resources[a].locator", () -> Resource.builder("a").locator("relative/path"));
    fails("resources[a].type", () -> Resource.builder("a").locator("qemu:///system").build());
  }

  @Test
  void valuesAreSetOnce() {
    fails("policy.mode", () -> ResiliencyPolicy.builder().mode(CaptureMode.BLOCKING).mode(CaptureMode.NON_BLOCKING));
    fails("resources[a].locator", () -> Resource.builder("a").locator("qemu:///system").locator("xen:///system"));
    fails("resources[a].properties.domain", () -> Resource.builder("a").property("domain", "x").property("domain", "y"));
    fails("placement[a]", () -> Placement.builder().move("a", URI.create("qemu:///system"))
        .move("a", URI.create("qemu:///session")));
    // toBuilder() derives a variant: overriding is its point.
    assertEquals(CaptureMode.BLOCKING,
        ResiliencyPolicy.defaults().toBuilder().mode(CaptureMode.BLOCKING).build().mode());
  }

  @Test
  void secretsNeverShow() {
    Resource lun = Resource.builder("lun").type("block")
        .locator("iscsi://user%25hunter2@127.0.0.1:3260/iqn.2026-11.io.lencap:t/0")
        .secret("chap.secret", Secret.of("s3cr3t-value")).build();
    String shown = lun.toString() + Encapsulation.builder("g").resource(lun).build();
    assertFalse(shown.contains("s3cr3t-value"), shown);
    assertFalse(shown.contains("hunter2"), shown);
    assertTrue(shown.contains("chap.secret"), shown);
    assertEquals("s3cr3t-value", lun.secret("chap.secret").orElseThrow().reveal());
  }

  @Test
  void placementMovesOnlyNamedMembers() {
    Resource a = vm("a");
    Placement p = Placement.builder().move("a", URI.create("qemu+ssh://node7/system"),
        java.util.Map.of("domain", "a-copy")).build();
    Resource moved = p.apply(a);
    assertEquals(URI.create("qemu+ssh://node7/system"), moved.locator());
    assertEquals("a-copy", moved.property("domain").orElseThrow());
    assertEquals(vm("b"), Placement.inPlace().apply(vm("b")));
  }

  @Test
  void aMovedMemberTakesTheSecretsOfItsNewPlaceAndPrintsThemRedacted() {
    Resource lun = Resource.builder("lun").type("block").locator("iscsi://a:3260/iqn.x:a/0")
        .property("chap.user", "old").secret("chap.secret", Secret.of("old-password")).build();
    Placement p = Placement.builder().move("lun", URI.create("iscsi://b:3260/iqn.x:b/0"),
        java.util.Map.of("chap.user", "new"), java.util.Map.of("chap.secret", Secret.of("new-password"))).build();
    Resource moved = p.apply(lun);
    assertEquals("new", moved.property("chap.user").orElseThrow());
    assertEquals("new-password", moved.secret("chap.secret").orElseThrow().reveal());
    assertTrue(!p.toString().contains("new-password"), p.toString());
  }
}
